"""Cases: their model and states, numbering, deadlines, case SQL, staff operations and supervision."""
