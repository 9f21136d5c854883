"""Numbered schema migrations. Each runs in one transaction and is recorded in ``schema_version``.
A shipped migration is never edited: add a new one."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import aiosqlite

Migration = Callable[[aiosqlite.Connection], Awaitable[None]]


async def _script(db: aiosqlite.Connection, sql: str) -> None:
    """Run statements one by one: ``executescript`` would commit the migration's transaction.
    Comments are dropped first, so a ';' inside one does not split a statement."""
    sql = "\n".join(line.split("--", 1)[0] for line in sql.splitlines())
    for statement in sql.split(";"):
        if statement.strip():
            await db.execute(statement)


async def _v1_foundation(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        CREATE TABLE kv (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
        -- Every command event seen, written before the sync token advances (durable inbox).
        CREATE TABLE inbox (
            event_id    TEXT PRIMARY KEY,
            room_id     TEXT NOT NULL,
            sender      TEXT NOT NULL,
            body        TEXT NOT NULL,
            encrypted   INTEGER NOT NULL,
            origin_ts   INTEGER NOT NULL,
            received_at REAL NOT NULL,
            status      TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done')),
            outcome     TEXT,
            done_at     REAL
        );
        CREATE INDEX inbox_pending ON inbox (status, received_at);
        -- Who typed what, where, when, and how it ended.
        CREATE TABLE audit (
            id        INTEGER PRIMARY KEY AUTOINCREMENT,
            at        REAL NOT NULL,
            actor     TEXT NOT NULL,
            room_id   TEXT,
            event_id  TEXT,
            action    TEXT NOT NULL,
            detail    TEXT NOT NULL DEFAULT '',
            outcome   TEXT NOT NULL
        );
        CREATE INDEX audit_actor ON audit (actor, at);
        -- Rooms the bot keeps: the control room, direct chats.
        CREATE TABLE rooms (
            room_id  TEXT PRIMARY KEY,
            kind     TEXT NOT NULL CHECK (kind IN ('control', 'dm')),
            peer     TEXT,
            created  REAL NOT NULL
        )
    """,
    )


async def _v2_territories(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- Config keys (territory id, territory.room id) to Matrix rooms. Never deleted: a room
        -- removed from config is archived and keeps its mapping.
        CREATE TABLE managed_rooms (
            key        TEXT PRIMARY KEY,
            room_id    TEXT NOT NULL UNIQUE,
            kind       TEXT NOT NULL,
            territory  TEXT NOT NULL,
            is_space   INTEGER NOT NULL,
            archived   INTEGER NOT NULL DEFAULT 0,
            adopted    INTEGER NOT NULL DEFAULT 0,
            updated    REAL NOT NULL
        );
        -- Each reconcile run and its actions, written before they run and marked after.
        CREATE TABLE apply_runs (
            id        INTEGER PRIMARY KEY AUTOINCREMENT,
            started   REAL NOT NULL,
            finished  REAL,
            source    TEXT NOT NULL,
            planned   INTEGER NOT NULL DEFAULT 0,
            done      INTEGER NOT NULL DEFAULT 0,
            outcome   TEXT
        );
        CREATE TABLE apply_actions (
            run_id   INTEGER NOT NULL REFERENCES apply_runs (id),
            seq      INTEGER NOT NULL,
            key      TEXT NOT NULL,
            op       TEXT NOT NULL,
            body     TEXT NOT NULL,
            status   TEXT NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'done', 'failed')),
            done_at  REAL,
            error    TEXT,
            PRIMARY KEY (run_id, seq)
        )
    """,
    )


async def _v3_vetting(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- Join requests, whatever their source; personal fields erased on !forget (later).
        CREATE TABLE requests (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            source        TEXT NOT NULL,
            user_id       TEXT,
            dm_room       TEXT,
            name          TEXT NOT NULL,
            profession    TEXT NOT NULL,
            territory     TEXT NOT NULL,
            email         TEXT NOT NULL,
            structure     TEXT NOT NULL DEFAULT '',
            rpps          TEXT,
            adeli         TEXT,
            submitted_by  TEXT NOT NULL,
            status        TEXT NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('pending', 'approved', 'rejected', 'cancelled')),
            reason        TEXT,
            card_event    TEXT,
            created       REAL NOT NULL,
            decided       REAL
        );
        CREATE INDEX requests_status ON requests (status);
        CREATE TABLE decisions (
            request_id  INTEGER NOT NULL REFERENCES requests (id),
            admin       TEXT NOT NULL,
            decision    TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
            note        TEXT NOT NULL DEFAULT '',
            at          REAL NOT NULL,
            PRIMARY KEY (request_id, admin)
        );
        -- Work that must survive a crash (provisioning, notices): written as a row in the same
        -- transaction as the decision that calls for it, marked done after it ran.
        CREATE TABLE jobs (
            id        INTEGER PRIMARY KEY AUTOINCREMENT,
            kind      TEXT NOT NULL,
            payload   TEXT NOT NULL,
            status    TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'done', 'failed')),
            attempts  INTEGER NOT NULL DEFAULT 0,
            next_at   REAL NOT NULL,
            error     TEXT,
            created   REAL NOT NULL,
            done_at   REAL
        );
        CREATE INDEX jobs_pending ON jobs (status, next_at);
        -- A guided !join conversation in progress (one per person).
        CREATE TABLE dialogues (
            user_id  TEXT PRIMARY KEY,
            room_id  TEXT NOT NULL,
            step     TEXT NOT NULL,
            fields   TEXT NOT NULL,
            locale   TEXT NOT NULL,
            updated  REAL NOT NULL
        );
        -- Vetted members.
        CREATE TABLE members (
            user_id     TEXT PRIMARY KEY,
            request_id  INTEGER REFERENCES requests (id),
            territory   TEXT NOT NULL,
            status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
            since       REAL NOT NULL
        )
    """,
    )


async def _v4_members(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- Web requests: the status link is kept as a SHA-256 only; the registration token is
        -- Synapse's single-use token made once the request is approved.
        ALTER TABLE requests ADD COLUMN status_hash TEXT;
        ALTER TABLE requests ADD COLUMN reg_token TEXT;
        ALTER TABLE requests ADD COLUMN locale TEXT;
        -- Imported requests carry their batch name (`!approve import:<batch>`).
        ALTER TABLE requests ADD COLUMN batch TEXT;
        CREATE UNIQUE INDEX requests_status_hash ON requests (status_hash);
        CREATE INDEX requests_batch ON requests (batch);
        -- What animators gave a member beyond the provisioning rules: a territory (`!admit`)
        -- or a room (`!group invite`).
        CREATE TABLE grants (
            user_id     TEXT NOT NULL,
            key         TEXT NOT NULL,
            source      TEXT NOT NULL,
            granted_by  TEXT NOT NULL,
            at          REAL NOT NULL,
            PRIMARY KEY (user_id, key)
        );
        -- Moderation policy rules (MSC2313) read from the region's own policy room and, later,
        -- from trusted peers' rooms. `kind` is user | server | room.
        CREATE TABLE policy_rules (
            room_id         TEXT NOT NULL,
            state_key       TEXT NOT NULL,
            kind            TEXT NOT NULL,
            entity          TEXT NOT NULL,
            recommendation  TEXT NOT NULL,
            reason          TEXT NOT NULL DEFAULT '',
            sender          TEXT NOT NULL,
            at              REAL NOT NULL,
            PRIMARY KEY (room_id, kind, state_key)
        );
        -- Working groups animators create under their territory's space.
        CREATE TABLE groups (
            key         TEXT PRIMARY KEY,
            territory   TEXT NOT NULL,
            name        TEXT NOT NULL,
            visibility  TEXT NOT NULL CHECK (visibility IN ('open', 'private')),
            room_id     TEXT UNIQUE,
            created_by  TEXT NOT NULL,
            created     REAL NOT NULL
        )
    """,
    )


async def _v5_news(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- Feeds: from the config (origin 'config') or added by `!feed add` ('command').
        CREATE TABLE feeds (
            id             INTEGER PRIMARY KEY AUTOINCREMENT,
            url            TEXT NOT NULL,
            territory      TEXT NOT NULL,
            rooms          TEXT NOT NULL,
            every          REAL NOT NULL,
            filter         TEXT,
            public         INTEGER NOT NULL DEFAULT 0,
            origin         TEXT NOT NULL,
            added_by       TEXT NOT NULL,
            created        REAL NOT NULL,
            title          TEXT,
            etag           TEXT,
            last_modified  TEXT,
            last_fetch     REAL,
            last_ok        REAL,
            last_error     TEXT,
            errors         INTEGER NOT NULL DEFAULT 0,
            next_at        REAL NOT NULL,
            failing        INTEGER NOT NULL DEFAULT 0,
            primed         INTEGER NOT NULL DEFAULT 0,
            removed        INTEGER NOT NULL DEFAULT 0
        );
        -- Entries seen, by stable key; `digest` tells a changed entry from an unchanged one.
        CREATE TABLE feed_entries (
            feed_id   INTEGER NOT NULL REFERENCES feeds (id),
            key       TEXT NOT NULL,
            digest    TEXT NOT NULL,
            message   TEXT,
            seen      REAL NOT NULL,
            PRIMARY KEY (feed_id, key)
        );
        -- Something broadcast (a feed entry, a news item, an alert) and its current version;
        -- each room's delivery is a row, so a restart sends what is missing and nothing twice.
        CREATE TABLE messages (
            key      TEXT PRIMARY KEY,
            content  TEXT NOT NULL,
            version  INTEGER NOT NULL DEFAULT 1,
            created  REAL NOT NULL
        );
        CREATE TABLE deliveries (
            message   TEXT NOT NULL REFERENCES messages (key),
            room_id   TEXT NOT NULL,
            version   INTEGER NOT NULL DEFAULT 0,
            event_id  TEXT,
            error     TEXT,
            at        REAL,
            PRIMARY KEY (message, room_id)
        );
        CREATE INDEX deliveries_event ON deliveries (event_id);
        CREATE TABLE news (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            territory  TEXT NOT NULL,
            text       TEXT NOT NULL,
            author     TEXT NOT NULL,
            public     INTEGER NOT NULL DEFAULT 0,
            origin     TEXT NOT NULL,
            created    REAL NOT NULL
        );
        -- What the public news page shows (never alerts, never room conversations).
        CREATE TABLE public_items (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            message    TEXT NOT NULL UNIQUE,
            territory  TEXT NOT NULL,
            subtree    INTEGER NOT NULL,
            title      TEXT NOT NULL,
            link       TEXT NOT NULL DEFAULT '',
            summary    TEXT NOT NULL DEFAULT '',
            source     TEXT NOT NULL DEFAULT '',
            published  REAL NOT NULL
        );
        CREATE INDEX public_items_territory ON public_items (territory, published);
        CREATE TABLE alerts (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            territory  TEXT NOT NULL,
            level      TEXT NOT NULL CHECK (level IN ('info', 'warning', 'critical')),
            text       TEXT NOT NULL,
            author     TEXT NOT NULL,
            origin     TEXT NOT NULL,
            created    REAL NOT NULL,
            reminded   INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE acks (
            alert_id  INTEGER NOT NULL REFERENCES alerts (id),
            user_id   TEXT NOT NULL,
            via       TEXT NOT NULL,
            at        REAL NOT NULL,
            PRIMARY KEY (alert_id, user_id)
        );
        -- Webhook signatures already accepted (refused if replayed), kept past the time window.
        CREATE TABLE hook_seen (
            signature  TEXT PRIMARY KEY,
            at         REAL NOT NULL
        )
    """,
    )


async def _v6_room_kinds(db: aiosqlite.Connection) -> None:
    """The rooms table's kinds gain the region's policy list and the peers' lists (v1 allowed
    only control rooms and direct chats; SQLite changes a CHECK by rebuilding the table)."""
    await _script(
        db,
        """
        CREATE TABLE rooms_v6 (
            room_id  TEXT PRIMARY KEY,
            kind     TEXT NOT NULL
                     CHECK (kind IN ('control', 'dm', 'policy', 'policy-peer')),
            peer     TEXT,
            created  REAL NOT NULL
        );
        INSERT INTO rooms_v6 (room_id, kind, peer, created)
            SELECT room_id, kind, peer, created FROM rooms;
        DROP TABLE rooms;
        ALTER TABLE rooms_v6 RENAME TO rooms
    """,
    )


async def _v7_federation(db: aiosqlite.Connection) -> None:
    """Rooms of the federation: peers' shared rooms this bot provisions into, the region's
    directory and the peers' directories; and the members listed in the region's directory."""
    await _script(
        db,
        """
        CREATE TABLE rooms_v7 (
            room_id  TEXT PRIMARY KEY,
            kind     TEXT NOT NULL
                     CHECK (kind IN ('control', 'dm', 'policy', 'policy-peer', 'shared-peer',
                                     'directory', 'directory-peer')),
            peer     TEXT,
            created  REAL NOT NULL
        );
        INSERT INTO rooms_v7 (room_id, kind, peer, created)
            SELECT room_id, kind, peer, created FROM rooms;
        DROP TABLE rooms;
        ALTER TABLE rooms_v7 RENAME TO rooms;
        -- Members who agreed to be listed in the region's directory (what was published).
        CREATE TABLE directory_entries (
            user_id    TEXT PRIMARY KEY,
            content    TEXT NOT NULL,
            event_id   TEXT,
            published  REAL NOT NULL
        )
    """,
    )


async def _v8_trust(db: aiosqlite.Connection) -> None:
    """Trust: the device a command came from, the pinned cross-signing identities of the people
    who may act, ban rules that wait for an admin, private rooms' member lists, archived groups,
    and web requests that wait for their email to be confirmed."""
    await _script(
        db,
        """
        -- The sending device as the event's Megolm session proves it (NULL: unencrypted, or a
        -- forwarded key, which proves nothing about who sent it).
        ALTER TABLE inbox ADD COLUMN device_curve TEXT;
        ALTER TABLE inbox ADD COLUMN device_ed TEXT;
        -- Where the ciphertext sits in its Megolm session: the same ciphertext posted again as
        -- a new event (a replay) is refused, after a restart too.
        ALTER TABLE inbox ADD COLUMN megolm_session TEXT;
        ALTER TABLE inbox ADD COLUMN megolm_index INTEGER;
        CREATE UNIQUE INDEX inbox_megolm ON inbox (device_curve, megolm_session, megolm_index);
        -- The same for the other encrypted events the bot acts on (reactions on cards).
        CREATE TABLE megolm_seen (
            device_curve  TEXT NOT NULL,
            session       TEXT NOT NULL,
            idx           INTEGER NOT NULL,
            event_id      TEXT NOT NULL,
            PRIMARY KEY (device_curve, session, idx)
        );
        -- Cross-signing master keys pinned on first use, per admin, animator and manager.
        CREATE TABLE pinned_keys (
            user_id    TEXT PRIMARY KEY,
            master     TEXT NOT NULL,
            pinned_at  REAL NOT NULL,
            pinned_by  TEXT NOT NULL
        );
        -- A published master key that differs from the pinned one, until an admin accepts it.
        CREATE TABLE key_changes (
            user_id  TEXT PRIMARY KEY,
            old      TEXT NOT NULL,
            new      TEXT NOT NULL,
            seen     REAL NOT NULL
        );
        -- active | held (waits for !confirm) | refused (would touch this region itself) |
        -- ignored (not from the list's own bot) | cancelled (an admin said no)
        ALTER TABLE policy_rules ADD COLUMN status TEXT NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'held', 'refused', 'ignored', 'cancelled'));
        -- What an admin must confirm: a rule whose sweep is large (or set by hand), or a glob
        -- ban an admin asked for (published only once confirmed).
        CREATE TABLE holds (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            kind        TEXT NOT NULL CHECK (kind IN ('rule', 'publish', 'withdraw')),
            room_id     TEXT NOT NULL,
            rule_kind   TEXT NOT NULL,
            state_key   TEXT NOT NULL,
            entity      TEXT NOT NULL,
            reason      TEXT NOT NULL DEFAULT '',
            sender      TEXT NOT NULL,
            users       TEXT NOT NULL,
            why         TEXT NOT NULL,
            status      TEXT NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'confirmed', 'cancelled')),
            created     REAL NOT NULL,
            decided     REAL,
            decided_by  TEXT
        );
        -- Things reported once (an untrusted sender in a peer list, unencrypted events...).
        CREATE TABLE noted (
            key  TEXT PRIMARY KEY,
            at   REAL NOT NULL
        );
        ALTER TABLE groups ADD COLUMN archived REAL;
        -- Requests gain 'unconfirmed' (a web request whose email is not confirmed yet: no card,
        -- forgotten when it expires). SQLite changes a CHECK by rebuilding the table, with
        -- foreign keys off meanwhile (see ``rebuilds_tables``).
        CREATE TABLE requests_v8 (
            id            INTEGER PRIMARY KEY AUTOINCREMENT,
            source        TEXT NOT NULL,
            user_id       TEXT,
            dm_room       TEXT,
            name          TEXT NOT NULL,
            profession    TEXT NOT NULL,
            territory     TEXT NOT NULL,
            email         TEXT NOT NULL,
            structure     TEXT NOT NULL DEFAULT '',
            rpps          TEXT,
            adeli         TEXT,
            submitted_by  TEXT NOT NULL,
            status        TEXT NOT NULL DEFAULT 'pending'
                          CHECK (status IN ('unconfirmed', 'pending', 'approved', 'rejected',
                                            'cancelled', 'expired')),
            reason        TEXT,
            card_event    TEXT,
            created       REAL NOT NULL,
            decided       REAL,
            status_hash   TEXT,
            reg_token     TEXT,
            locale        TEXT,
            batch         TEXT,
            email_hash    TEXT,
            confirmed     REAL
        );
        INSERT INTO requests_v8 (id, source, user_id, dm_room, name, profession, territory,
            email, structure, rpps, adeli, submitted_by, status, reason, card_event, created,
            decided, status_hash, reg_token, locale, batch)
            SELECT id, source, user_id, dm_room, name, profession, territory, email, structure,
            rpps, adeli, submitted_by, status, reason, card_event, created, decided,
            status_hash, reg_token, locale, batch FROM requests;
        UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE(
            (SELECT seq FROM sqlite_sequence WHERE name = 'requests'), 0))
            WHERE name = 'requests_v8';
        DROP TABLE requests;
        ALTER TABLE requests_v8 RENAME TO requests;
        CREATE INDEX requests_status ON requests (status);
        CREATE UNIQUE INDEX requests_status_hash ON requests (status_hash);
        CREATE UNIQUE INDEX requests_email_hash ON requests (email_hash);
        CREATE INDEX requests_batch ON requests (batch)
    """,
    )


# SQLite's way to rebuild a table others point at: foreign keys off around the transaction,
# then checked before it commits (https://sqlite.org/lang_altertable.html#otheralter).
_v8_trust.rebuilds_tables = True  # type: ignore[attr-defined]  # a flag set on the function


async def _v9_nothing_lost(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- What the bot recognises of its own work when a command runs again after a crash.
        ALTER TABLE requests ADD COLUMN source_event TEXT;
        CREATE INDEX requests_source_event ON requests (source_event);
        ALTER TABLE decisions ADD COLUMN event_id TEXT;
        -- A command cut short by an outage waits, then runs again.
        ALTER TABLE inbox ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
        ALTER TABLE inbox ADD COLUMN next_at REAL NOT NULL DEFAULT 0;
        -- Web form posts counted per client (a keyed hash of its address, never the address),
        -- kept an hour: the limit holds across restarts.
        CREATE TABLE web_posts (
            client  TEXT NOT NULL,
            at      REAL NOT NULL
        );
        CREATE INDEX web_posts_client ON web_posts (client, at);
        -- When a web applicant's registration token expires (no polling after that).
        ALTER TABLE requests ADD COLUMN reg_expires REAL;
        -- Everything else the bot acts on (reactions, invites, memberships, policy rules,
        -- state changes), written with the sync token like commands, handled once each.
        CREATE TABLE events (
            seq       INTEGER PRIMARY KEY AUTOINCREMENT,
            kind      TEXT NOT NULL,
            room_id   TEXT NOT NULL,
            event_id  TEXT,
            payload   TEXT NOT NULL,
            status    TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'done', 'failed')),
            attempts  INTEGER NOT NULL DEFAULT 0,
            next_at   REAL NOT NULL DEFAULT 0,
            error     TEXT,
            created   REAL NOT NULL,
            done_at   REAL
        );
        CREATE UNIQUE INDEX events_once ON events (kind, event_id) WHERE event_id IS NOT NULL;
        CREATE INDEX events_pending ON events (status, next_at);
        -- Jobs: cancelled by an admin, and when the last error was.
        CREATE TABLE jobs_v9 (
            id        INTEGER PRIMARY KEY AUTOINCREMENT,
            kind      TEXT NOT NULL,
            payload   TEXT NOT NULL,
            status    TEXT NOT NULL DEFAULT 'pending'
                      CHECK (status IN ('pending', 'done', 'failed', 'cancelled')),
            attempts  INTEGER NOT NULL DEFAULT 0,
            next_at   REAL NOT NULL,
            error     TEXT,
            created   REAL NOT NULL,
            done_at   REAL
        );
        INSERT INTO jobs_v9 SELECT id, kind, payload, status, attempts, next_at, error,
            created, done_at FROM jobs;
        -- A job's id names its effects (bot.effects): never given out twice, even when the
        -- table was empty.
        INSERT INTO sqlite_sequence (name, seq) SELECT 'jobs_v9', 0
            WHERE NOT EXISTS (SELECT 1 FROM sqlite_sequence WHERE name = 'jobs_v9');
        UPDATE sqlite_sequence SET seq = MAX(seq, COALESCE(
            (SELECT seq FROM sqlite_sequence WHERE name = 'jobs'), 0))
            WHERE name = 'jobs_v9';
        DROP TABLE jobs;
        ALTER TABLE jobs_v9 RENAME TO jobs;
        CREATE INDEX jobs_pending ON jobs (status, next_at)
    """,
    )


async def _v10_outcomes(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- What a command's first run decided (a revocation found a member, a group made), kept
        -- with its effects in one transaction: a run after a crash answers the same.
        CREATE TABLE outcomes (
            key     TEXT PRIMARY KEY,
            value   TEXT NOT NULL,
            at      REAL NOT NULL
        );
        """,
    )


async def _v11_recurring_jobs(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- How many times a recurring job (a feed's poll) has run to its end: each run is a
        -- cause of its own (what one run sends is not taken for the next one's).
        ALTER TABLE jobs ADD COLUMN runs INTEGER NOT NULL DEFAULT 0;
        """,
    )


async def _v12_rosters(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- On-call rosters: the slots the templates make (UTC instants), who is on each.
        CREATE TABLE roster_slots (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            territory  TEXT NOT NULL,
            role       TEXT NOT NULL,
            start      REAL NOT NULL,
            "end"      REAL NOT NULL,
            member     TEXT,
            updated    REAL NOT NULL,
            UNIQUE (territory, role, start)
        );
        CREATE INDEX roster_slots_time ON roster_slots (territory, start);
        CREATE INDEX roster_slots_member ON roster_slots (member, start);
        """,
    )


async def _v13_roster_notices(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- What was said about a slot (uncovered 72 h and 24 h ahead, the member reminded, a
        -- removed member's slot emptied), once each.
        CREATE TABLE roster_notices (
            slot_id  INTEGER NOT NULL REFERENCES roster_slots (id),
            kind     TEXT NOT NULL,
            at       REAL NOT NULL,
            PRIMARY KEY (slot_id, kind)
        );
        """,
    )


async def _v14_inbox_files(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- A command answering another event (a reply), and a file sent with a command as its
        -- caption (kept until the command is handled, then dropped).
        ALTER TABLE inbox ADD COLUMN reply_to TEXT;
        ALTER TABLE inbox ADD COLUMN attachment TEXT;
        """,
    )


async def _v15_roster_offers(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- A slot offered: to a colleague (swap, with their slot in return or not) or to anyone
        -- in the territory (release). proposed → accepted (waiting for the coordinator) →
        -- done; or refused, cancelled, expired.
        CREATE TABLE roster_offers (
            id            INTEGER PRIMARY KEY,
            territory     TEXT NOT NULL,
            kind          TEXT NOT NULL CHECK (kind IN ('swap', 'release')),
            slot_id       INTEGER NOT NULL REFERENCES roster_slots (id),
            by_member     TEXT NOT NULL,
            to_member     TEXT,
            their_slot_id INTEGER REFERENCES roster_slots (id),
            status        TEXT NOT NULL,
            created       REAL NOT NULL,
            updated       REAL NOT NULL
        );
        CREATE INDEX roster_offers_open ON roster_offers (status, slot_id);
        -- The messages about an offer a ✅ acts on: the colleague's proposal, the coordinator's
        -- card, the release posted in the replacements room.
        CREATE TABLE roster_offer_events (
            event_id  TEXT PRIMARY KEY,
            offer_id  INTEGER NOT NULL REFERENCES roster_offers (id) ON DELETE CASCADE,
            role      TEXT NOT NULL
        );
        """,
    )


async def _v16_calendar_links(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- A member's calendar link: their slots, and the rosters they may read. Only a digest
        -- of the link's secret is kept; a new link replaces the old one.
        CREATE TABLE calendar_links (
            digest   TEXT PRIMARY KEY,
            user_id  TEXT NOT NULL UNIQUE,
            created  REAL NOT NULL
        );
        """,
    )


async def _v17_absences(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- A member's absence in a territory, with who replaces them. waiting (the replacement
        -- is not vetted yet) → planned → active (the replacement has ``rooms``) → ended; or
        -- cancelled. ``rooms``: the room keys lent to the replacement while it is active.
        CREATE TABLE absences (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: jobs name it
            territory    TEXT NOT NULL,
            member       TEXT NOT NULL,
            replacement  TEXT,
            start        REAL NOT NULL,
            "end"        REAL NOT NULL,
            note         TEXT NOT NULL DEFAULT '',
            rooms        TEXT NOT NULL DEFAULT '',
            status       TEXT NOT NULL,
            request_id   INTEGER REFERENCES requests (id),
            created      REAL NOT NULL,
            updated      REAL NOT NULL
        );
        CREATE INDEX absences_member ON absences (member, status);
        CREATE INDEX absences_replacement ON absences (replacement, status);
        -- A request filed for a replacement: the member it makes has no territory of their
        -- own, only the rooms their absences lend them.
        ALTER TABLE requests ADD COLUMN replacement_for INTEGER;
        """,
    )


async def _v18_welcomes(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- A newcomer welcomed by an animator (`!accueil`): the direct message with the
        -- territory's rules, and whether they want to be introduced (NULL: not answered) in
        -- its community room, with the town they chose to give.
        CREATE TABLE welcomes (
            user_id      TEXT NOT NULL,
            territory    TEXT NOT NULL,
            welcomed_by  TEXT NOT NULL,
            at           REAL NOT NULL,
            prompt_event TEXT,
            introduce    INTEGER,
            town         TEXT NOT NULL DEFAULT '',
            answered     REAL,
            PRIMARY KEY (user_id, territory)
        );
        CREATE INDEX welcomes_prompt ON welcomes (prompt_event);
        """,
    )


async def _v19_rpps_directory(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- The national directory of health professionals, as last loaded: only what vetting
        -- needs. A load fills rpps_*_next, then takes their place in one transaction.
        CREATE TABLE rpps_people (
            rpps              TEXT PRIMARY KEY,
            last_name         TEXT NOT NULL,
            first_name        TEXT NOT NULL,
            profession        TEXT NOT NULL,
            profession_label  TEXT NOT NULL
        ) WITHOUT ROWID;
        CREATE TABLE rpps_places (
            rpps        TEXT NOT NULL,
            department  TEXT NOT NULL,
            commune     TEXT NOT NULL,
            PRIMARY KEY (rpps, department, commune)
        ) WITHOUT ROWID;
        """,
    )


async def _v20_directory_apart(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- The directory moved to a file of its own (directory.db, see bot.store.rpps): its
        -- million lines rewritten at each load no longer lock or grow this database. The
        -- next load (or download) fills the new file.
        DROP TABLE IF EXISTS rpps_people;
        DROP TABLE IF EXISTS rpps_places;
        DROP TABLE IF EXISTS rpps_stage;
        DROP TABLE IF EXISTS rpps_people_next;
        DROP TABLE IF EXISTS rpps_places_next;
        DELETE FROM kv WHERE key = 'directory:loaded';
        """,
    )


async def _v21_languages(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- The language each person chose (!langue / !language): every answer and notice to
        -- them in it. Without a row, their latest request's language, else the region's.
        CREATE TABLE languages (
            user_id  TEXT PRIMARY KEY,
            locale   TEXT NOT NULL CHECK (locale IN ('fr', 'en')),
            chosen   REAL NOT NULL
        );
        CREATE INDEX requests_user ON requests (user_id);
        """,
    )


async def _v22_threads(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- The thread a command was typed in (its root event): the answer goes there too.
        ALTER TABLE inbox ADD COLUMN thread TEXT;
        """,
    )


async def _v23_polls(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- A poll (`!vote`): open → closed (its end sent; responses after ``closed_at`` do not
        -- count) → done (the result posted). ``answers``: JSON [[id, text], …].
        CREATE TABLE polls (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: jobs name it
            author     TEXT NOT NULL,
            question   TEXT NOT NULL,
            answers    TEXT NOT NULL,
            scope      TEXT NOT NULL DEFAULT '',  -- the territory, or '' for one room
            closes     REAL NOT NULL,
            status     TEXT NOT NULL CHECK (status IN ('open', 'closed', 'done')),
            closed_at  REAL,
            created    REAL NOT NULL,
            updated    REAL NOT NULL
        );
        -- Each room it is posted in, with the events the bot sent there once sent.
        CREATE TABLE poll_rooms (
            poll_id       INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
            room_id       TEXT NOT NULL,
            start_event   TEXT UNIQUE,
            end_event     TEXT,
            result_event  TEXT,
            PRIMARY KEY (poll_id, room_id)
        );
        -- Every response to one of its starts, as sent (``answers``: JSON, NULL when
        -- unreadable); the count reads them all (a person's latest counts).
        CREATE TABLE poll_responses (
            event_id  TEXT PRIMARY KEY,
            poll_id   INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
            room_id   TEXT NOT NULL,
            sender    TEXT NOT NULL,
            ts        INTEGER NOT NULL,
            answers   TEXT,
            redacted  INTEGER NOT NULL DEFAULT 0
        );
        CREATE INDEX poll_responses_poll ON poll_responses (poll_id);
        """,
    )


async def _v24_documents(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- Files shared in the territories' rooms, as !docs finds them: what they are called,
        -- their type and size, where, who and when. Never their content, and for an
        -- encrypted file neither where it is stored (its mxc URL) nor its key.
        CREATE TABLE documents (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,  -- never reused: people name it
            event_id   TEXT NOT NULL UNIQUE,
            room_id    TEXT NOT NULL,
            sender     TEXT NOT NULL,
            name       TEXT NOT NULL,
            words      TEXT NOT NULL,  -- the name folded (lower case, no accents)
            msgtype    TEXT NOT NULL,
            mimetype   TEXT NOT NULL DEFAULT '',
            size       INTEGER,
            encrypted  INTEGER NOT NULL,
            sent_ts    INTEGER NOT NULL  -- the homeserver's timestamp (ms)
        );
        CREATE INDEX documents_room ON documents (room_id, sent_ts);
        CREATE INDEX documents_sender ON documents (sender);
        -- Who is in a managed room since when (ms): with history visible from the invitation
        -- on, a file posted before someone was asked in is not theirs to find.
        CREATE TABLE document_readers (
            room_id     TEXT NOT NULL,
            user_id     TEXT NOT NULL,
            membership  TEXT NOT NULL CHECK (membership IN ('invite', 'join')),
            since       INTEGER NOT NULL,
            PRIMARY KEY (room_id, user_id)
        );
        -- Files an animator pinned into a territory's resources room (its index message).
        CREATE TABLE document_pins (
            territory    TEXT NOT NULL,
            document_id  INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            pinned_by    TEXT NOT NULL,
            pinned_at    REAL NOT NULL,
            PRIMARY KEY (territory, document_id)
        );
        CREATE INDEX document_pins_document ON document_pins (document_id);
        """,
    )


async def _v25_events(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- Workshops and events (bot.workshops): one row per occurrence (a recurring one makes
        -- the next when it ends, in the same series); its announcement and its report thread.
        CREATE TABLE workshops (
            id INTEGER PRIMARY KEY,
            series INTEGER,
            cause TEXT UNIQUE,
            territory TEXT NOT NULL,
            title TEXT NOT NULL,
            start REAL NOT NULL,
            "end" REAL NOT NULL,
            recurrence TEXT NOT NULL DEFAULT '',
            seats INTEGER,
            link TEXT NOT NULL DEFAULT '',
            place TEXT NOT NULL DEFAULT '',
            author TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'open',
            room_id TEXT,
            event_id TEXT,
            thread_id TEXT,
            created REAL NOT NULL,
            updated REAL NOT NULL
        );
        CREATE INDEX workshops_event ON workshops (event_id);
        CREATE INDEX workshops_start ON workshops (status, start);
        -- Who has a seat and who waits, in the order they asked.
        CREATE TABLE workshop_seats (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            workshop INTEGER NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            status TEXT NOT NULL,
            via TEXT NOT NULL,
            reaction TEXT,  -- the ✅ that took the seat: removing it gives the seat up
            created REAL NOT NULL,
            UNIQUE (workshop, user_id)
        );
        CREATE INDEX workshop_seats_reaction ON workshop_seats (reaction);
        """,
    )


async def _v26_surveys(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- A survey being written in a direct chat (`!sondage créer`): the step of the guided
        -- conversation and what was said so far; ``last_event``: the answer that moved it
        -- last (a re-run after a crash does not apply it twice).
        CREATE TABLE survey_drafts (
            user_id     TEXT PRIMARY KEY,
            room_id     TEXT NOT NULL,
            step        TEXT NOT NULL,
            data        TEXT NOT NULL,
            locale      TEXT NOT NULL,
            last_event  TEXT,
            updated     REAL NOT NULL
        );
        -- A survey: its questions (JSON), audience (territories, professions), closing time.
        -- ``secret`` keys the respondents' tokens (HMAC of the user id); it is erased at the
        -- close, after which no token can be computed again. A survey a peer region shared:
        -- ``origin`` is its bot and ``remote_id`` its number there (its author is that bot);
        -- ``shared``: this region's survey was offered to the peers.
        CREATE TABLE surveys (
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            author      TEXT NOT NULL,
            title       TEXT NOT NULL,
            questions   TEXT NOT NULL,
            audience    TEXT NOT NULL,
            anonymous   INTEGER NOT NULL,
            closes      REAL NOT NULL,
            status      TEXT NOT NULL DEFAULT 'open',
            secret      TEXT,
            created     REAL NOT NULL,
            origin      TEXT,
            remote_id   INTEGER,
            shared      INTEGER NOT NULL DEFAULT 0,
            UNIQUE (origin, remote_id)
        );
        -- Who the survey goes to: the audience, not their answers. pending → sent.
        CREATE TABLE survey_deliveries (
            survey_id   INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
            user_id     TEXT NOT NULL,
            status      TEXT NOT NULL DEFAULT 'pending',
            PRIMARY KEY (survey_id, user_id)
        );
        -- The survey a person is answering now in their direct chat (at most one), and the
        -- question they asked to change (`!sondage modifier`): where their next plain
        -- message goes. Erased when they finish or the survey closes.
        CREATE TABLE survey_turns (
            user_id     TEXT PRIMARY KEY,
            survey_id   INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
            editing     INTEGER,
            last_event  TEXT
        );
        -- One respondent, under their opaque token, with the groups the breakdown needs
        -- (coarsened to 'other' below surveys.min_group at the close); ``who`` only for a
        -- named survey. ``position``: the next question to ask.
        CREATE TABLE survey_responses (
            survey_id   INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
            token       TEXT NOT NULL,
            territory   TEXT NOT NULL,
            profession  TEXT NOT NULL,
            who         TEXT,
            position    INTEGER NOT NULL DEFAULT 0,
            finished    INTEGER NOT NULL DEFAULT 0,
            PRIMARY KEY (survey_id, token)
        );
        CREATE TABLE survey_answers (
            survey_id   INTEGER NOT NULL,
            token       TEXT NOT NULL,
            question    INTEGER NOT NULL,
            value       TEXT NOT NULL,
            PRIMARY KEY (survey_id, token, question),
            FOREIGN KEY (survey_id, token) REFERENCES survey_responses (survey_id, token)
                ON DELETE CASCADE
        );
        """,
    )


async def _v27_survey_min_group(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- A survey a peer region shared is shown with groups no smaller than its own limit.
        ALTER TABLE surveys ADD COLUMN min_group INTEGER;
        """,
    )


async def _v28_owed_reactions(db: aiosqlite.Connection) -> None:
    await _script(
        db,
        """
        -- The ✅ or ❌ a handled command is owed until it is sent: it waits for a quiet room
        -- (commands typed back to back are not held up by each other's reactions), and a
        -- restart meanwhile sends it then.
        ALTER TABLE inbox ADD COLUMN reaction TEXT;
        CREATE INDEX inbox_owed_reactions ON inbox (done_at) WHERE reaction IS NOT NULL;
        """,
    )


MIGRATIONS: list[Migration] = [
    _v1_foundation,
    _v2_territories,
    _v3_vetting,
    _v4_members,
    _v5_news,
    _v6_room_kinds,
    _v7_federation,
    _v8_trust,
    _v9_nothing_lost,
    _v10_outcomes,
    _v11_recurring_jobs,
    _v12_rosters,
    _v13_roster_notices,
    _v14_inbox_files,
    _v15_roster_offers,
    _v16_calendar_links,
    _v17_absences,
    _v18_welcomes,
    _v19_rpps_directory,
    _v20_directory_apart,
    _v21_languages,
    _v22_threads,
    _v23_polls,
    _v24_documents,
    _v25_events,
    _v26_surveys,
    _v27_survey_min_group,
    _v28_owed_reactions,
]
