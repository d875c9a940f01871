"""The 12345 hotline's chat front end: one package per concern (see the README's map)."""
