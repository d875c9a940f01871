"""The database schema as an ordered list of named migrations, for SQLite and PostgreSQL.

Append new steps at the end of both lists, under the same name; never edit or reorder one
that has shipped. `Database.migrate` applies each missing step in one transaction with its
record in `schema_migrations`.

PostgreSQL's steps create the same tables with its types: ids and Telegram ids are
BIGINT (chat ids pass 2^31), `INTEGER PRIMARY KEY` is a BIGINT identity, REAL is DOUBLE
PRECISION; times and JSON stay TEXT as on SQLite, and append-only is a trigger function.
"""

from __future__ import annotations

Migration = tuple[str, tuple[str, ...]]

MIGRATIONS: list[Migration] = [
    (
        "0001_cases",
        (
            """
            CREATE TABLE cases (
                id INTEGER PRIMARY KEY,
                number TEXT NOT NULL UNIQUE,
                citizen_id INTEGER NOT NULL,
                chat_id INTEGER NOT NULL,
                kind TEXT NOT NULL,
                category TEXT,
                department TEXT,
                district TEXT,
                address TEXT,
                description TEXT NOT NULL,
                happened TEXT,
                phone TEXT,
                anonymous INTEGER NOT NULL DEFAULT 0,
                status TEXT NOT NULL,
                assignee_id INTEGER,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                deadline TEXT NOT NULL,
                closed_at TEXT,
                source_key TEXT UNIQUE
            )
            """,
            "CREATE INDEX cases_by_citizen ON cases (citizen_id, id DESC)",
            "CREATE INDEX cases_by_status ON cases (status, deadline)",
            """
            CREATE TABLE case_events (
                id INTEGER PRIMARY KEY,
                case_id INTEGER NOT NULL REFERENCES cases (id),
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                kind TEXT NOT NULL,
                detail TEXT NOT NULL DEFAULT '{}'
            )
            """,
            "CREATE INDEX case_events_by_case ON case_events (case_id, id)",
            """
            CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
            BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END
            """,
            """
            CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
            BEGIN SELECT RAISE(ABORT, 'case_events is append-only'); END
            """,
            # One row per day: the last sequence number handed out. Numbers are never reused.
            "CREATE TABLE case_counters (day TEXT PRIMARY KEY, last INTEGER NOT NULL)",
        ),
    ),
    (
        "0002_telegram_state",
        (
            # Telegram may deliver an update twice; the first delivery claims its id.
            "CREATE TABLE processed_updates (update_id INTEGER PRIMARY KEY, at TEXT NOT NULL)",
            # Inline keyboards: callback_data carries only "k<id>:<index>"; the payloads
            # live here so they may be longer than Telegram's 64 bytes, survive restarts,
            # and a keyboard can be used once only.
            """
            CREATE TABLE keyboards (
                id INTEGER PRIMARY KEY,
                chat_id INTEGER NOT NULL,
                payloads TEXT NOT NULL,
                created_at TEXT NOT NULL,
                used_at TEXT
            )
            """,
        ),
    ),
    (
        "0003_knowledge_feedback",
        (
            # 「解决了 / 没解决」 on an answer.
            """
            CREATE TABLE kb_feedback (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                citizen_id INTEGER NOT NULL,
                entry_id TEXT NOT NULL,
                helpful INTEGER NOT NULL
            )
            """,
            "CREATE INDEX kb_feedback_by_entry ON kb_feedback (entry_id)",
            # Questions that found no entry, or only a clarification nobody picked.
            """
            CREATE TABLE kb_misses (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                citizen_id INTEGER NOT NULL,
                question TEXT NOT NULL,
                route TEXT NOT NULL
            )
            """,
        ),
    ),
    (
        "0004_emergencies",
        (
            # Emergencies are never cases; this records that one was reported and answered.
            """
            CREATE TABLE emergencies (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                citizen_id INTEGER NOT NULL,
                kind TEXT NOT NULL,
                text TEXT NOT NULL
            )
            """,
        ),
    ),
    (
        "0005_staff_and_delivery",
        (
            # Roles granted by an admin in chat; those given in configuration are added to these.
            """
            CREATE TABLE staff_roles (
                user_id INTEGER NOT NULL,
                role TEXT NOT NULL,
                granted_by INTEGER NOT NULL,
                granted_at TEXT NOT NULL,
                PRIMARY KEY (user_id, role)
            )
            """,
            "ALTER TABLE cases ADD COLUMN assignee_name TEXT",
            # Every message a case change causes, written in the same transaction as the
            # change and sent by the bot's delivery worker. `dedupe_key` makes enqueueing
            # idempotent; `sent_at` makes sending happen once.
            """
            CREATE TABLE outbox (
                id INTEGER PRIMARY KEY,
                created_at TEXT NOT NULL,
                chat_id INTEGER NOT NULL,
                text TEXT NOT NULL,
                buttons TEXT,
                case_id INTEGER REFERENCES cases (id),
                purpose TEXT NOT NULL,
                dedupe_key TEXT UNIQUE,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at TEXT NOT NULL,
                sent_at TEXT,
                message_id INTEGER,
                failed_at TEXT,
                last_error TEXT
            )
            """,
            (
                "CREATE INDEX outbox_due ON outbox (next_attempt_at)"
                " WHERE sent_at IS NULL AND failed_at IS NULL"
            ),
            # Chats that blocked the bot (Telegram answered 403): nothing more is tried there.
            (
                "CREATE TABLE blocked_chats (chat_id INTEGER PRIMARY KEY, at TEXT NOT NULL,"
                " reason TEXT NOT NULL)"
            ),
            # A live conversation between an agent and a citizen about one case.
            """
            CREATE TABLE handoffs (
                citizen_id INTEGER PRIMARY KEY,
                chat_id INTEGER NOT NULL,
                case_id INTEGER NOT NULL REFERENCES cases (id),
                agent_id INTEGER NOT NULL,
                started_at TEXT NOT NULL,
                last_activity_at TEXT NOT NULL
            )
            """,
            # 回访: one row per resolution; `outcome` is pending, answered or not_reached.
            """
            CREATE TABLE callbacks (
                id INTEGER PRIMARY KEY,
                case_id INTEGER NOT NULL REFERENCES cases (id),
                citizen_id INTEGER NOT NULL,
                asked_at TEXT NOT NULL,
                outcome TEXT NOT NULL DEFAULT 'pending',
                rating TEXT,
                answered_at TEXT,
                comment TEXT,
                comment_until TEXT
            )
            """,
            "CREATE INDEX callbacks_by_case ON callbacks (case_id, id)",
            "CREATE INDEX callbacks_pending ON callbacks (outcome, asked_at)",
            # Supervision acts once per key (reminder, overdue alert, ping-pong flag …).
            "CREATE TABLE supervision_marks (key TEXT PRIMARY KEY, at TEXT NOT NULL)",
        ),
    ),
    (
        "0006_callbacks_by_citizen",
        (
            # Every citizen message looks for a callback comment it may be answering.
            "CREATE INDEX callbacks_by_citizen ON callbacks (citizen_id, comment_until)",
        ),
    ),
    (
        "0007_emergency_levels",
        (
            # Doubts (the number given, then the conversation went on) and near misses
            # (recorded for review, nothing said) are kept beside the emergencies.
            "ALTER TABLE emergencies ADD COLUMN level TEXT NOT NULL DEFAULT 'emergency'",
            "ALTER TABLE emergencies ADD COLUMN probability REAL",
            "ALTER TABLE emergencies ADD COLUMN signs TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE emergencies ADD COLUMN during TEXT NOT NULL DEFAULT 'chat'",
            "CREATE INDEX emergencies_by_level ON emergencies (level, id)",
        ),
    ),
    (
        "0008_updates_started_and_done",
        (
            # An update is 'started' when its handling begins, by the run (one process's
            # life) that handles it, and 'done' once handled. Only 'done', or 'started'
            # by the live run, drops a second delivery: a run that died mid-turn leaves
            # its update to be handled again. Rows from before were handled: 'done'.
            "ALTER TABLE processed_updates ADD COLUMN state TEXT NOT NULL DEFAULT 'done'",
            "ALTER TABLE processed_updates ADD COLUMN run TEXT",
            # The update itself while it is started: Telegram does not send an update
            # again once the next getUpdates acknowledged it, so the bot replays it.
            "ALTER TABLE processed_updates ADD COLUMN payload TEXT",
        ),
    ),
    (
        "0009_drop_blocked_chats",
        (
            # Written on a 403 and never read to any end: a 403 fails the chat's
            # pending messages, which is all that stops the tries.
            "DROP TABLE blocked_chats",
        ),
    ),
    (
        "0010_category_suggestions",
        (
            # The case classifier's three likeliest categories when the case was filed
            # (a JSON list, likeliest first) and the version of the model that said so:
            # the agents' card offers them as one-tap choices.
            "ALTER TABLE cases ADD COLUMN suggestions TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE cases ADD COLUMN model_version TEXT",
        ),
    ),
    (
        "0011_category_examples",
        (
            # Labelled examples for the case classifier, as agents decided them: one per
            # closed case (its masked text, final category and department), or one per
            # record loaded by `make learn` (`case_id` NULL). An example goes with its case,
            # so it is kept exactly as long as the case is.
            """
            CREATE TABLE category_examples (
                id INTEGER PRIMARY KEY,
                source TEXT NOT NULL UNIQUE,
                case_id INTEGER UNIQUE REFERENCES cases (id) ON DELETE CASCADE,
                text TEXT NOT NULL,
                category TEXT NOT NULL,
                department TEXT,
                decided_by TEXT NOT NULL,
                decided_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX category_examples_by_time ON category_examples (decided_at)",
        ),
    ),
    (
        "0012_early_warning",
        (
            # Marked when filed from data/sensitive.yml: 'sensitive' (敏感件) or 'urgent'
            # (紧急件); NULL for an ordinary case.
            "ALTER TABLE cases ADD COLUMN mark TEXT",
            # A repeat request: 'citizen' (the same citizen, the same matter, three times in
            # 30 days), 'place' (the same place from several citizens) or 'citizen,place'.
            "ALTER TABLE cases ADD COLUMN repeat_flag TEXT",
            # The district and the address, normalised (bot/cases/repeats.py): the same place.
            "ALTER TABLE cases ADD COLUMN place_key TEXT",
            ("CREATE INDEX cases_by_place ON cases (place_key, created_at)"
             " WHERE place_key IS NOT NULL"),
            "CREATE INDEX cases_by_time ON cases (created_at)",
            # Every early warning sent to the supervisors: a sensitive or urgent case, a
            # repeat request, a hot spot. `key` makes each one once; a supervisor's /ack
            # fills `acked_by` and `acked_at`. `case_ids` is a JSON list.
            """
            CREATE TABLE alerts (
                id INTEGER PRIMARY KEY,
                kind TEXT NOT NULL,
                key TEXT NOT NULL UNIQUE,
                raised_at TEXT NOT NULL,
                district TEXT,
                category TEXT,
                place TEXT,
                summary TEXT NOT NULL,
                case_ids TEXT NOT NULL DEFAULT '[]',
                detail TEXT NOT NULL DEFAULT '{}',
                acked_by INTEGER,
                acked_at TEXT
            )
            """,
            "CREATE INDEX alerts_by_time ON alerts (raised_at)",
            "CREATE INDEX alerts_by_kind ON alerts (kind, raised_at)",
        ),
    ),
    (
        "0013_kb_answers",
        (
            # Every policy question the bot answered (after a choice from the list too): the
            # entry, not the wording. The direct-answer rate counts these (bot/insight/figures.py).
            """
            CREATE TABLE kb_answers (
                id INTEGER PRIMARY KEY,
                at TEXT NOT NULL,
                citizen_id INTEGER NOT NULL,
                entry_id TEXT NOT NULL,
                topic TEXT NOT NULL
            )
            """,
            "CREATE INDEX kb_answers_by_time ON kb_answers (at)",
        ),
    ),
    (
        "0014_outbox_claims",
        (
            # A delivery worker claims a chat's next message before sending it, until
            # `claimed_until`: workers in several processes never send one row twice.
            "ALTER TABLE outbox ADD COLUMN claimed_by TEXT",
            "ALTER TABLE outbox ADD COLUMN claimed_until TEXT",
        ),
    ),
    (
        "0015_leases",
        (
            # A named lease: `holder` may act under `name` until `expires_at` (ISO text, UTC).
            # Several bot processes share the store: a job runs where its lease is held,
            # and each process holds "run:<its id>" while it is alive (bot/store/leases.py).
            """
            CREATE TABLE leases (
                name TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                expires_at TEXT NOT NULL
            )
            """,
        ),
    ),
]

ID = "BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY"

POSTGRES_MIGRATIONS: list[Migration] = [
    (
        "0001_cases",
        (
            f"""
            CREATE TABLE cases (
                id {ID},
                number TEXT NOT NULL UNIQUE,
                citizen_id BIGINT NOT NULL,
                chat_id BIGINT NOT NULL,
                kind TEXT NOT NULL,
                category TEXT,
                department TEXT,
                district TEXT,
                address TEXT,
                description TEXT NOT NULL,
                happened TEXT,
                phone TEXT,
                anonymous INTEGER NOT NULL DEFAULT 0,
                status TEXT NOT NULL,
                assignee_id BIGINT,
                created_at TEXT NOT NULL,
                updated_at TEXT NOT NULL,
                deadline TEXT NOT NULL,
                closed_at TEXT,
                source_key TEXT UNIQUE
            )
            """,
            "CREATE INDEX cases_by_citizen ON cases (citizen_id, id DESC)",
            "CREATE INDEX cases_by_status ON cases (status, deadline)",
            f"""
            CREATE TABLE case_events (
                id {ID},
                case_id BIGINT NOT NULL REFERENCES cases (id),
                at TEXT NOT NULL,
                actor TEXT NOT NULL,
                kind TEXT NOT NULL,
                detail TEXT NOT NULL DEFAULT '{{}}'
            )
            """,
            "CREATE INDEX case_events_by_case ON case_events (case_id, id)",
            """
            CREATE FUNCTION case_events_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN RAISE EXCEPTION 'case_events is append-only'; END $$
            """,
            """
            CREATE TRIGGER case_events_no_update BEFORE UPDATE ON case_events
            FOR EACH ROW EXECUTE FUNCTION case_events_append_only()
            """,
            """
            CREATE TRIGGER case_events_no_delete BEFORE DELETE ON case_events
            FOR EACH ROW EXECUTE FUNCTION case_events_append_only()
            """,
            "CREATE TABLE case_counters (day TEXT PRIMARY KEY, last BIGINT NOT NULL)",
        ),
    ),
    (
        "0002_telegram_state",
        (
            "CREATE TABLE processed_updates (update_id BIGINT PRIMARY KEY, at TEXT NOT NULL)",
            f"""
            CREATE TABLE keyboards (
                id {ID},
                chat_id BIGINT NOT NULL,
                payloads TEXT NOT NULL,
                created_at TEXT NOT NULL,
                used_at TEXT
            )
            """,
        ),
    ),
    (
        "0003_knowledge_feedback",
        (
            f"""
            CREATE TABLE kb_feedback (
                id {ID},
                at TEXT NOT NULL,
                citizen_id BIGINT NOT NULL,
                entry_id TEXT NOT NULL,
                helpful INTEGER NOT NULL
            )
            """,
            "CREATE INDEX kb_feedback_by_entry ON kb_feedback (entry_id)",
            f"""
            CREATE TABLE kb_misses (
                id {ID},
                at TEXT NOT NULL,
                citizen_id BIGINT NOT NULL,
                question TEXT NOT NULL,
                route TEXT NOT NULL
            )
            """,
        ),
    ),
    (
        "0004_emergencies",
        (
            f"""
            CREATE TABLE emergencies (
                id {ID},
                at TEXT NOT NULL,
                citizen_id BIGINT NOT NULL,
                kind TEXT NOT NULL,
                text TEXT NOT NULL
            )
            """,
        ),
    ),
    (
        "0005_staff_and_delivery",
        (
            """
            CREATE TABLE staff_roles (
                user_id BIGINT NOT NULL,
                role TEXT NOT NULL,
                granted_by BIGINT NOT NULL,
                granted_at TEXT NOT NULL,
                PRIMARY KEY (user_id, role)
            )
            """,
            "ALTER TABLE cases ADD COLUMN assignee_name TEXT",
            f"""
            CREATE TABLE outbox (
                id {ID},
                created_at TEXT NOT NULL,
                chat_id BIGINT NOT NULL,
                text TEXT NOT NULL,
                buttons TEXT,
                case_id BIGINT REFERENCES cases (id),
                purpose TEXT NOT NULL,
                dedupe_key TEXT UNIQUE,
                attempts INTEGER NOT NULL DEFAULT 0,
                next_attempt_at TEXT NOT NULL,
                sent_at TEXT,
                message_id BIGINT,
                failed_at TEXT,
                last_error TEXT
            )
            """,
            (
                "CREATE INDEX outbox_due ON outbox (next_attempt_at)"
                " WHERE sent_at IS NULL AND failed_at IS NULL"
            ),
            (
                "CREATE TABLE blocked_chats (chat_id BIGINT PRIMARY KEY, at TEXT NOT NULL,"
                " reason TEXT NOT NULL)"
            ),
            """
            CREATE TABLE handoffs (
                citizen_id BIGINT PRIMARY KEY,
                chat_id BIGINT NOT NULL,
                case_id BIGINT NOT NULL REFERENCES cases (id),
                agent_id BIGINT NOT NULL,
                started_at TEXT NOT NULL,
                last_activity_at TEXT NOT NULL
            )
            """,
            f"""
            CREATE TABLE callbacks (
                id {ID},
                case_id BIGINT NOT NULL REFERENCES cases (id),
                citizen_id BIGINT NOT NULL,
                asked_at TEXT NOT NULL,
                outcome TEXT NOT NULL DEFAULT 'pending',
                rating TEXT,
                answered_at TEXT,
                comment TEXT,
                comment_until TEXT
            )
            """,
            "CREATE INDEX callbacks_by_case ON callbacks (case_id, id)",
            "CREATE INDEX callbacks_pending ON callbacks (outcome, asked_at)",
            "CREATE TABLE supervision_marks (key TEXT PRIMARY KEY, at TEXT NOT NULL)",
        ),
    ),
    (
        "0006_callbacks_by_citizen",
        ("CREATE INDEX callbacks_by_citizen ON callbacks (citizen_id, comment_until)",),
    ),
    (
        "0007_emergency_levels",
        (
            "ALTER TABLE emergencies ADD COLUMN level TEXT NOT NULL DEFAULT 'emergency'",
            "ALTER TABLE emergencies ADD COLUMN probability DOUBLE PRECISION",
            "ALTER TABLE emergencies ADD COLUMN signs TEXT NOT NULL DEFAULT ''",
            "ALTER TABLE emergencies ADD COLUMN during TEXT NOT NULL DEFAULT 'chat'",
            "CREATE INDEX emergencies_by_level ON emergencies (level, id)",
        ),
    ),
    (
        "0008_updates_started_and_done",
        (
            "ALTER TABLE processed_updates ADD COLUMN state TEXT NOT NULL DEFAULT 'done'",
            "ALTER TABLE processed_updates ADD COLUMN run TEXT",
            "ALTER TABLE processed_updates ADD COLUMN payload TEXT",
        ),
    ),
    (
        "0009_drop_blocked_chats",
        ("DROP TABLE blocked_chats",),
    ),
    (
        "0010_category_suggestions",
        (
            "ALTER TABLE cases ADD COLUMN suggestions TEXT NOT NULL DEFAULT '[]'",
            "ALTER TABLE cases ADD COLUMN model_version TEXT",
        ),
    ),
    (
        "0011_category_examples",
        (
            f"""
            CREATE TABLE category_examples (
                id {ID},
                source TEXT NOT NULL UNIQUE,
                case_id BIGINT UNIQUE REFERENCES cases (id) ON DELETE CASCADE,
                text TEXT NOT NULL,
                category TEXT NOT NULL,
                department TEXT,
                decided_by TEXT NOT NULL,
                decided_at TEXT NOT NULL
            )
            """,
            "CREATE INDEX category_examples_by_time ON category_examples (decided_at)",
        ),
    ),
    (
        "0012_early_warning",
        (
            "ALTER TABLE cases ADD COLUMN mark TEXT",
            "ALTER TABLE cases ADD COLUMN repeat_flag TEXT",
            "ALTER TABLE cases ADD COLUMN place_key TEXT",
            ("CREATE INDEX cases_by_place ON cases (place_key, created_at)"
             " WHERE place_key IS NOT NULL"),
            "CREATE INDEX cases_by_time ON cases (created_at)",
            f"""
            CREATE TABLE alerts (
                id {ID},
                kind TEXT NOT NULL,
                key TEXT NOT NULL UNIQUE,
                raised_at TEXT NOT NULL,
                district TEXT,
                category TEXT,
                place TEXT,
                summary TEXT NOT NULL,
                case_ids TEXT NOT NULL DEFAULT '[]',
                detail TEXT NOT NULL DEFAULT '{{}}',
                acked_by BIGINT,
                acked_at TEXT
            )
            """,
            "CREATE INDEX alerts_by_time ON alerts (raised_at)",
            "CREATE INDEX alerts_by_kind ON alerts (kind, raised_at)",
        ),
    ),
    (
        "0013_kb_answers",
        (
            f"""
            CREATE TABLE kb_answers (
                id {ID},
                at TEXT NOT NULL,
                citizen_id BIGINT NOT NULL,
                entry_id TEXT NOT NULL,
                topic TEXT NOT NULL
            )
            """,
            "CREATE INDEX kb_answers_by_time ON kb_answers (at)",
        ),
    ),
    (
        "0014_outbox_claims",
        (
            "ALTER TABLE outbox ADD COLUMN claimed_by TEXT",
            "ALTER TABLE outbox ADD COLUMN claimed_until TEXT",
        ),
    ),
    (
        "0015_leases",
        (
            # A named lease: `holder` may act under `name` until `expires_at` (ISO text, UTC).
            # Several bot processes share the store: a job runs where its lease is held,
            # and each process holds "run:<its id>" while it is alive (bot/store/leases.py).
            """
            CREATE TABLE leases (
                name TEXT PRIMARY KEY,
                holder TEXT NOT NULL,
                expires_at TEXT NOT NULL
            )
            """,
        ),
    ),
]
