-- The bot's store at schema version 27, with representative rows: made by
-- tools/store_fixture.py --version 27 (see it); loaded by
-- tests/test_upgrades_unit.py, which migrates it to the current schema.
BEGIN TRANSACTION;
CREATE TABLE absences (
            id           INTEGER PRIMARY KEY AUTOINCREMENT,  
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
INSERT INTO "absences" VALUES(1,'vaucluse','@corinne:agora.test','@paul:agora.test',1768089600.0,1768953600.0,'congés','["vaucluse.communaute"]','planned',NULL,1767225820.0,1767225820.0);
CREATE TABLE acks (
            alert_id  INTEGER NOT NULL REFERENCES alerts (id),
            user_id   TEXT NOT NULL,
            via       TEXT NOT NULL,
            at        REAL NOT NULL,
            PRIMARY KEY (alert_id, user_id)
        );
INSERT INTO "acks" VALUES(1,'@corinne:agora.test','reaction',1767225680.0);
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
INSERT INTO "alerts" VALUES(1,'vaucluse','warning','Canicule : niveau 3','@admin:agora.test','command',1767225670.0,0);
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
        );
INSERT INTO "apply_actions" VALUES(1,0,'vaucluse','create_room','{"name": "Vaucluse"}','done',1767225603.0,NULL);
CREATE TABLE apply_runs (
            id        INTEGER PRIMARY KEY AUTOINCREMENT,
            started   REAL NOT NULL,
            finished  REAL,
            source    TEXT NOT NULL,
            planned   INTEGER NOT NULL DEFAULT 0,
            done      INTEGER NOT NULL DEFAULT 0,
            outcome   TEXT
        );
INSERT INTO "apply_runs" VALUES(1,1767225600.0,1767225603.0,'bot',1,1,'done');
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
INSERT INTO "audit" VALUES(1,1767225602.0,'@admin:agora.test','!control:agora.test','$ping','command.ping','','ok');
INSERT INTO "audit" VALUES(2,1767225630.0,'@admin:agora.test','!control:agora.test','$approve','vetting.approve','#1','ok');
CREATE TABLE calendar_links (
            digest   TEXT PRIMARY KEY,
            user_id  TEXT NOT NULL UNIQUE,
            created  REAL NOT NULL
        );
INSERT INTO "calendar_links" VALUES('digest-1','@corinne:agora.test',1767225810.0);
CREATE TABLE decisions (
            request_id  INTEGER NOT NULL REFERENCES requests (id),
            admin       TEXT NOT NULL,
            decision    TEXT NOT NULL CHECK (decision IN ('approve', 'reject')),
            note        TEXT NOT NULL DEFAULT '',
            at          REAL NOT NULL, event_id TEXT,
            PRIMARY KEY (request_id, admin)
        );
INSERT INTO "decisions" VALUES(1,'@admin:agora.test','approve','vue au téléphone',1767225630.0,'$approve');
CREATE TABLE deliveries (
            message   TEXT NOT NULL REFERENCES messages (key),
            room_id   TEXT NOT NULL,
            version   INTEGER NOT NULL DEFAULT 0,
            event_id  TEXT,
            error     TEXT,
            at        REAL,
            PRIMARY KEY (message, room_id)
        );
INSERT INTO "deliveries" VALUES('news:1','!vaucluse-communaute:agora.test',1,'$news-1',NULL,1767225661.0);
INSERT INTO "deliveries" VALUES('alert:1','!vaucluse-communaute:agora.test',0,NULL,NULL,NULL);
CREATE TABLE dialogues (
            user_id  TEXT PRIMARY KEY,
            room_id  TEXT NOT NULL,
            step     TEXT NOT NULL,
            fields   TEXT NOT NULL,
            locale   TEXT NOT NULL,
            updated  REAL NOT NULL
        );
INSERT INTO "dialogues" VALUES('@paul:agora.test','!dm-paul:agora.test','name','{}','fr',1767225650.0);
CREATE TABLE directory_entries (
            user_id    TEXT PRIMARY KEY,
            content    TEXT NOT NULL,
            event_id   TEXT,
            published  REAL NOT NULL
        );
INSERT INTO "directory_entries" VALUES('@corinne:agora.test','{"name": "Corinne Durand", "profession": "infirmier"}','$dir-1',1767225840.0);
CREATE TABLE document_pins (
            territory    TEXT NOT NULL,
            document_id  INTEGER NOT NULL REFERENCES documents (id) ON DELETE CASCADE,
            pinned_by    TEXT NOT NULL,
            pinned_at    REAL NOT NULL,
            PRIMARY KEY (territory, document_id)
        );
INSERT INTO "document_pins" VALUES('vaucluse',1,'@admin:agora.test',1767225890.0);
CREATE TABLE document_readers (
            room_id     TEXT NOT NULL,
            user_id     TEXT NOT NULL,
            membership  TEXT NOT NULL CHECK (membership IN ('invite', 'join')),
            since       INTEGER NOT NULL,
            PRIMARY KEY (room_id, user_id)
        );
INSERT INTO "document_readers" VALUES('!vaucluse-communaute:agora.test','@corinne:agora.test','join',1);
CREATE TABLE documents (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,  
            event_id   TEXT NOT NULL UNIQUE,
            room_id    TEXT NOT NULL,
            sender     TEXT NOT NULL,
            name       TEXT NOT NULL,
            words      TEXT NOT NULL,  
            msgtype    TEXT NOT NULL,
            mimetype   TEXT NOT NULL DEFAULT '',
            size       INTEGER,
            encrypted  INTEGER NOT NULL,
            sent_ts    INTEGER NOT NULL  
        );
INSERT INTO "documents" VALUES(1,'$doc-1','!vaucluse-communaute:agora.test','@paul:agora.test','Protocole canicule.pdf','protocole canicule.pdf','m.file','application/pdf',48213,1,1767225880000);
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
INSERT INTO "events" VALUES(1,'reaction','!control:agora.test','$reaction-1','{"key": "✅", "relates_to": "$card-1", "sender": "@admin:agora.test"}','done',0,0.0,NULL,1767225629.0,1767225630.0);
CREATE TABLE feed_entries (
            feed_id   INTEGER NOT NULL REFERENCES feeds (id),
            key       TEXT NOT NULL,
            digest    TEXT NOT NULL,
            message   TEXT,
            seen      REAL NOT NULL,
            PRIMARY KEY (feed_id, key)
        );
INSERT INTO "feed_entries" VALUES(1,'guid-1','d1',NULL,1767225700.0);
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
INSERT INTO "feeds" VALUES(1,'https://ars.example.org/actualites.rss','vaucluse','["vaucluse.communaute"]',1800.0,NULL,0,'command','@admin:agora.test',1767225690.0,'ARS','"abc"',NULL,1767225700.0,1767225700.0,NULL,0,1767227500.0,0,1,0);
CREATE TABLE grants (
            user_id     TEXT NOT NULL,
            key         TEXT NOT NULL,
            source      TEXT NOT NULL,
            granted_by  TEXT NOT NULL,
            at          REAL NOT NULL,
            PRIMARY KEY (user_id, key)
        );
INSERT INTO "grants" VALUES('@corinne:agora.test','vaucluse.communaute','membership','@agora:agora.test',1767225631.0);
CREATE TABLE groups (
            key         TEXT PRIMARY KEY,
            territory   TEXT NOT NULL,
            name        TEXT NOT NULL,
            visibility  TEXT NOT NULL CHECK (visibility IN ('open', 'private')),
            room_id     TEXT UNIQUE,
            created_by  TEXT NOT NULL,
            created     REAL NOT NULL
        , archived REAL);
INSERT INTO "groups" VALUES('vaucluse.cellule-canicule','vaucluse','Cellule canicule','private','!cellule:agora.test','@admin:agora.test',1767225730.0,NULL);
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
INSERT INTO "holds" VALUES(1,'rule','!policy-peer:other.test','m.policy.rule.server','rule:evil.example','evil.example','','@agora:other.test','["@corinne:agora.test"]','wide','pending',1767225720.0,NULL,NULL);
CREATE TABLE hook_seen (
            signature  TEXT PRIMARY KEY,
            at         REAL NOT NULL
        );
INSERT INTO "hook_seen" VALUES('sig-1',1767225760.0);
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
        , device_curve TEXT, device_ed TEXT, megolm_session TEXT, megolm_index INTEGER, attempts INTEGER NOT NULL DEFAULT 0, next_at REAL NOT NULL DEFAULT 0, reply_to TEXT, attachment TEXT, thread TEXT);
INSERT INTO "inbox" VALUES('$ping','!control:agora.test','@admin:agora.test','',1,1767225601000,1767225601.0,'done','ok',1767225602.0,'curve-admin','ed-admin','session-1',0,0,0.0,NULL,NULL,NULL);
INSERT INTO "inbox" VALUES('$status-pending','!control:agora.test','@admin:agora.test','!status',1,1767225605000,1767225605.0,'pending',NULL,NULL,NULL,NULL,NULL,NULL,1,1767225665.0,NULL,NULL,NULL);
CREATE TABLE "jobs" (
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
        , runs INTEGER NOT NULL DEFAULT 0);
INSERT INTO "jobs" VALUES(1,'alerts.remind','{"alert_id": 1}','pending',0,1767232870.0,NULL,1767225670.0,NULL,0);
INSERT INTO "jobs" VALUES(2,'news.poll','{"feed": 1}','pending',0,1767227500.0,NULL,1767225690.0,NULL,3);
INSERT INTO "jobs" VALUES(3,'vetting.conclude','{"request_id": 1}','done',1,1767225630.0,NULL,1767225630.0,1767225632.0,0);
CREATE TABLE key_changes (
            user_id  TEXT PRIMARY KEY,
            old      TEXT NOT NULL,
            new      TEXT NOT NULL,
            seen     REAL NOT NULL
        );
INSERT INTO "key_changes" VALUES('@paul:agora.test','master-old','master-new',1767225740.0);
CREATE TABLE kv (
            key   TEXT PRIMARY KEY,
            value TEXT NOT NULL
        );
INSERT INTO "kv" VALUES('instance','"0123456789abcdef"');
INSERT INTO "kv" VALUES('sync_token','"s42_1_0_1_1_1_1_1_1"');
INSERT INTO "kv" VALUES('display_name','"Agora"');
CREATE TABLE languages (
            user_id  TEXT PRIMARY KEY,
            locale   TEXT NOT NULL CHECK (locale IN ('fr', 'en')),
            chosen   REAL NOT NULL
        );
INSERT INTO "languages" VALUES('@paul:agora.test','en',1767225850.0);
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
INSERT INTO "managed_rooms" VALUES('vaucluse','!vaucluse:agora.test','space','vaucluse',1,0,0,1767225600.0);
INSERT INTO "managed_rooms" VALUES('vaucluse.communaute','!vaucluse-communaute:agora.test','community','vaucluse',0,0,0,1767225600.0);
CREATE TABLE megolm_seen (
            device_curve  TEXT NOT NULL,
            session       TEXT NOT NULL,
            idx           INTEGER NOT NULL,
            event_id      TEXT NOT NULL,
            PRIMARY KEY (device_curve, session, idx)
        );
INSERT INTO "megolm_seen" VALUES('curve-admin','session-1',0,'$ping');
CREATE TABLE members (
            user_id     TEXT PRIMARY KEY,
            request_id  INTEGER REFERENCES requests (id),
            territory   TEXT NOT NULL,
            status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'revoked')),
            since       REAL NOT NULL
        );
INSERT INTO "members" VALUES('@corinne:agora.test',1,'vaucluse','active',1767225630.0);
CREATE TABLE messages (
            key      TEXT PRIMARY KEY,
            content  TEXT NOT NULL,
            version  INTEGER NOT NULL DEFAULT 1,
            created  REAL NOT NULL
        );
INSERT INTO "messages" VALUES('news:1','{"body": "Réunion de la CPTS jeudi", "msgtype": "m.text"}',1,1767225660.0);
INSERT INTO "messages" VALUES('alert:1','{"body": "Canicule : niveau 3", "msgtype": "m.text"}',1,1767225670.0);
CREATE TABLE news (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,
            territory  TEXT NOT NULL,
            text       TEXT NOT NULL,
            author     TEXT NOT NULL,
            public     INTEGER NOT NULL DEFAULT 0,
            origin     TEXT NOT NULL,
            created    REAL NOT NULL
        );
INSERT INTO "news" VALUES(1,'vaucluse','Réunion de la CPTS jeudi','@admin:agora.test',1,'command',1767225660.0);
CREATE TABLE noted (
            key  TEXT PRIMARY KEY,
            at   REAL NOT NULL
        );
INSERT INTO "noted" VALUES('unencrypted:!control:agora.test',1767225750.0);
CREATE TABLE outcomes (
            key     TEXT PRIMARY KEY,
            value   TEXT NOT NULL,
            at      REAL NOT NULL
        );
INSERT INTO "outcomes" VALUES('alert$alert-1','[1, 1]',1767225670.0);
CREATE TABLE pinned_keys (
            user_id    TEXT PRIMARY KEY,
            master     TEXT NOT NULL,
            pinned_at  REAL NOT NULL,
            pinned_by  TEXT NOT NULL
        );
INSERT INTO "pinned_keys" VALUES('@admin:agora.test','master-admin',1767225600.0,'first-sight');
CREATE TABLE policy_rules (
            room_id         TEXT NOT NULL,
            state_key       TEXT NOT NULL,
            kind            TEXT NOT NULL,
            entity          TEXT NOT NULL,
            recommendation  TEXT NOT NULL,
            reason          TEXT NOT NULL DEFAULT '',
            sender          TEXT NOT NULL,
            at              REAL NOT NULL, status TEXT NOT NULL DEFAULT 'active'
            CHECK (status IN ('active', 'held', 'refused', 'ignored', 'cancelled')),
            PRIMARY KEY (room_id, kind, state_key)
        );
INSERT INTO "policy_rules" VALUES('!policy:agora.test','rule:@spam:evil.example','m.policy.rule.user','@spam:evil.example','m.ban','Spam','@agora:agora.test',1767225710.0,'active');
CREATE TABLE poll_responses (
            event_id  TEXT PRIMARY KEY,
            poll_id   INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
            room_id   TEXT NOT NULL,
            sender    TEXT NOT NULL,
            ts        INTEGER NOT NULL,
            answers   TEXT,
            redacted  INTEGER NOT NULL DEFAULT 0
        );
INSERT INTO "poll_responses" VALUES('$poll-answer-1',1,'!vaucluse-communaute:agora.test','@corinne:agora.test',1767225870000,'["a0"]',0);
CREATE TABLE poll_rooms (
            poll_id       INTEGER NOT NULL REFERENCES polls (id) ON DELETE CASCADE,
            room_id       TEXT NOT NULL,
            start_event   TEXT UNIQUE,
            end_event     TEXT,
            result_event  TEXT,
            PRIMARY KEY (poll_id, room_id)
        );
INSERT INTO "poll_rooms" VALUES(1,'!vaucluse-communaute:agora.test','$poll-start-1',NULL,NULL);
CREATE TABLE polls (
            id         INTEGER PRIMARY KEY AUTOINCREMENT,  
            author     TEXT NOT NULL,
            question   TEXT NOT NULL,
            answers    TEXT NOT NULL,
            scope      TEXT NOT NULL DEFAULT '',  
            closes     REAL NOT NULL,
            status     TEXT NOT NULL CHECK (status IN ('open', 'closed', 'done')),
            closed_at  REAL,
            created    REAL NOT NULL,
            updated    REAL NOT NULL
        );
INSERT INTO "polls" VALUES(1,'@admin:agora.test','Réunion le mardi ou le jeudi ?','["Mardi", "Jeudi"]','vaucluse',1767312000.0,'open',NULL,1767225860.0,1767225860.0);
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
INSERT INTO "public_items" VALUES(1,'news:1','vaucluse',1,'Réunion de la CPTS jeudi','','','',1767225661.0);
CREATE TABLE "requests" (
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
        , source_event TEXT, reg_expires REAL, replacement_for INTEGER);
INSERT INTO "requests" VALUES(1,'dm','@corinne:agora.test','!dm-corinne:agora.test','Corinne Durand','infirmier','vaucluse','c.durand@example.org','Cabinet des Lices','10101234564',NULL,'@corinne:agora.test','approved',NULL,'$card-1',1767225620.0,1767225630.0,NULL,NULL,'fr',NULL,NULL,NULL,'$join-1',NULL,NULL);
INSERT INTO "requests" VALUES(2,'web',NULL,NULL,'Paul Martin','médecin','vaucluse','p.martin@example.org','',NULL,'123456789','web','pending',NULL,NULL,1767225640.0,NULL,'hash-status-2',NULL,'en',NULL,'hash-mail-2',1767225645.0,NULL,NULL,NULL);
CREATE TABLE "rooms" (
            room_id  TEXT PRIMARY KEY,
            kind     TEXT NOT NULL
                     CHECK (kind IN ('control', 'dm', 'policy', 'policy-peer', 'shared-peer',
                                     'directory', 'directory-peer')),
            peer     TEXT,
            created  REAL NOT NULL
        );
INSERT INTO "rooms" VALUES('!control:agora.test','control',NULL,1767225600.0);
INSERT INTO "rooms" VALUES('!dm-corinne:agora.test','dm','@corinne:agora.test',1767225610.0);
CREATE TABLE roster_notices (
            slot_id  INTEGER NOT NULL REFERENCES roster_slots (id),
            kind     TEXT NOT NULL,
            at       REAL NOT NULL,
            PRIMARY KEY (slot_id, kind)
        );
INSERT INTO "roster_notices" VALUES(1,'remind',1767225790.0);
CREATE TABLE roster_offer_events (
            event_id  TEXT PRIMARY KEY,
            offer_id  INTEGER NOT NULL REFERENCES roster_offers (id) ON DELETE CASCADE,
            role      TEXT NOT NULL
        );
INSERT INTO "roster_offer_events" VALUES('$offer-1',1,'announce');
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
INSERT INTO "roster_offers" VALUES(1,'vaucluse','release',1,'@corinne:agora.test',NULL,NULL,'proposed',1767225800.0,1767225800.0);
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
INSERT INTO "roster_slots" VALUES(1,'vaucluse','garde',1767312000.0,1767398400.0,'@corinne:agora.test',1767225780.0);
INSERT INTO "roster_slots" VALUES(2,'vaucluse','garde',1767398400.0,1767484800.0,NULL,1767225780.0);
CREATE TABLE schema_version (version INTEGER NOT NULL, applied REAL);
INSERT INTO "schema_version" VALUES(1,1767225601.0);
INSERT INTO "schema_version" VALUES(2,1767225602.0);
INSERT INTO "schema_version" VALUES(3,1767225603.0);
INSERT INTO "schema_version" VALUES(4,1767225604.0);
INSERT INTO "schema_version" VALUES(5,1767225605.0);
INSERT INTO "schema_version" VALUES(6,1767225606.0);
INSERT INTO "schema_version" VALUES(7,1767225607.0);
INSERT INTO "schema_version" VALUES(8,1767225608.0);
INSERT INTO "schema_version" VALUES(9,1767225609.0);
INSERT INTO "schema_version" VALUES(10,1767225610.0);
INSERT INTO "schema_version" VALUES(11,1767225611.0);
INSERT INTO "schema_version" VALUES(12,1767225612.0);
INSERT INTO "schema_version" VALUES(13,1767225613.0);
INSERT INTO "schema_version" VALUES(14,1767225614.0);
INSERT INTO "schema_version" VALUES(15,1767225615.0);
INSERT INTO "schema_version" VALUES(16,1767225616.0);
INSERT INTO "schema_version" VALUES(17,1767225617.0);
INSERT INTO "schema_version" VALUES(18,1767225618.0);
INSERT INTO "schema_version" VALUES(19,1767225619.0);
INSERT INTO "schema_version" VALUES(20,1767225620.0);
INSERT INTO "schema_version" VALUES(21,1767225621.0);
INSERT INTO "schema_version" VALUES(22,1767225622.0);
INSERT INTO "schema_version" VALUES(23,1767225623.0);
INSERT INTO "schema_version" VALUES(24,1767225624.0);
INSERT INTO "schema_version" VALUES(25,1767225625.0);
INSERT INTO "schema_version" VALUES(26,1767225626.0);
INSERT INTO "schema_version" VALUES(27,1767225627.0);
CREATE TABLE survey_answers (
            survey_id   INTEGER NOT NULL,
            token       TEXT NOT NULL,
            question    INTEGER NOT NULL,
            value       TEXT NOT NULL,
            PRIMARY KEY (survey_id, token, question),
            FOREIGN KEY (survey_id, token) REFERENCES survey_responses (survey_id, token)
                ON DELETE CASCADE
        );
INSERT INTO "survey_answers" VALUES(1,'jeton-1',0,'4');
CREATE TABLE survey_deliveries (
            survey_id   INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
            user_id     TEXT NOT NULL,
            status      TEXT NOT NULL DEFAULT 'pending',
            PRIMARY KEY (survey_id, user_id)
        );
INSERT INTO "survey_deliveries" VALUES(1,'@corinne:agora.test','sent');
CREATE TABLE survey_drafts (
            user_id     TEXT PRIMARY KEY,
            room_id     TEXT NOT NULL,
            step        TEXT NOT NULL,
            data        TEXT NOT NULL,
            locale      TEXT NOT NULL,
            last_event  TEXT,
            updated     REAL NOT NULL
        );
INSERT INTO "survey_drafts" VALUES('@paul:agora.test','!dm-corinne:agora.test','question','{"questions": [], "title": "Charge de travail"}','fr','$draft-1',1767225920.0);
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
INSERT INTO "survey_responses" VALUES(1,'jeton-1','vaucluse','infirmier',NULL,1,0);
CREATE TABLE survey_turns (
            user_id     TEXT PRIMARY KEY,
            survey_id   INTEGER NOT NULL REFERENCES surveys (id) ON DELETE CASCADE,
            editing     INTEGER,
            last_event  TEXT
        );
INSERT INTO "survey_turns" VALUES('@corinne:agora.test',1,NULL,'$q1');
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
            shared      INTEGER NOT NULL DEFAULT 0, min_group INTEGER,
            UNIQUE (origin, remote_id)
        );
INSERT INTO "surveys" VALUES(1,'@admin:agora.test','Conditions d''exercice','[{"kind": "scale", "options": [], "text": "Charge ressentie"}]','{"professions": ["infirmier"], "territories": ["vaucluse"]}',1,1768435200.0,'open','c2VjcmV0LWZpeHR1cmU',1767225930.0,NULL,NULL,0,NULL);
CREATE TABLE web_posts (
            client  TEXT NOT NULL,
            at      REAL NOT NULL
        );
INSERT INTO "web_posts" VALUES('127.0.0.1',1767225770.0);
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
INSERT INTO "welcomes" VALUES('@corinne:agora.test','vaucluse','@admin:agora.test',1767225830.0,'$welcome-1',1,'Avignon',NULL);
CREATE TABLE workshop_seats (
            seq INTEGER PRIMARY KEY AUTOINCREMENT,
            workshop INTEGER NOT NULL REFERENCES workshops (id) ON DELETE CASCADE,
            user_id TEXT NOT NULL,
            status TEXT NOT NULL,
            via TEXT NOT NULL,
            reaction TEXT,  
            created REAL NOT NULL,
            UNIQUE (workshop, user_id)
        );
INSERT INTO "workshop_seats" VALUES(1,1,'@corinne:agora.test','registered','reaction','$seat-reaction-1',1767225910.0);
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
INSERT INTO "workshops" VALUES(1,NULL,'event:$workshop-cmd','vaucluse','Atelier plaies chroniques',1767830400.0,1767837600.0,'',12,'','Maison de santé, Carpentras','@admin:agora.test','open','!vaucluse-communaute:agora.test','$workshop-1',NULL,1767225900.0,1767225900.0);
CREATE INDEX inbox_pending ON inbox (status, received_at);
CREATE INDEX audit_actor ON audit (actor, at);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX public_items_territory ON public_items (territory, published);
CREATE UNIQUE INDEX inbox_megolm ON inbox (device_curve, megolm_session, megolm_index);
CREATE INDEX requests_status ON requests (status);
CREATE UNIQUE INDEX requests_status_hash ON requests (status_hash);
CREATE UNIQUE INDEX requests_email_hash ON requests (email_hash);
CREATE INDEX requests_batch ON requests (batch)
    ;
CREATE INDEX requests_source_event ON requests (source_event);
CREATE INDEX web_posts_client ON web_posts (client, at);
CREATE UNIQUE INDEX events_once ON events (kind, event_id) WHERE event_id IS NOT NULL;
CREATE INDEX events_pending ON events (status, next_at);
CREATE INDEX jobs_pending ON jobs (status, next_at)
    ;
CREATE INDEX roster_slots_time ON roster_slots (territory, start);
CREATE INDEX roster_slots_member ON roster_slots (member, start);
CREATE INDEX roster_offers_open ON roster_offers (status, slot_id);
CREATE INDEX absences_member ON absences (member, status);
CREATE INDEX absences_replacement ON absences (replacement, status);
CREATE INDEX welcomes_prompt ON welcomes (prompt_event);
CREATE INDEX requests_user ON requests (user_id);
CREATE INDEX poll_responses_poll ON poll_responses (poll_id);
CREATE INDEX documents_room ON documents (room_id, sent_ts);
CREATE INDEX documents_sender ON documents (sender);
CREATE INDEX document_pins_document ON document_pins (document_id);
CREATE INDEX workshops_event ON workshops (event_id);
CREATE INDEX workshops_start ON workshops (status, start);
CREATE INDEX workshop_seats_reaction ON workshop_seats (reaction);
DELETE FROM "sqlite_sequence";
INSERT INTO "sqlite_sequence" VALUES('requests',2);
INSERT INTO "sqlite_sequence" VALUES('jobs',3);
INSERT INTO "sqlite_sequence" VALUES('audit',2);
INSERT INTO "sqlite_sequence" VALUES('apply_runs',1);
INSERT INTO "sqlite_sequence" VALUES('news',1);
INSERT INTO "sqlite_sequence" VALUES('public_items',1);
INSERT INTO "sqlite_sequence" VALUES('alerts',1);
INSERT INTO "sqlite_sequence" VALUES('feeds',1);
INSERT INTO "sqlite_sequence" VALUES('holds',1);
INSERT INTO "sqlite_sequence" VALUES('events',1);
INSERT INTO "sqlite_sequence" VALUES('roster_slots',2);
INSERT INTO "sqlite_sequence" VALUES('absences',1);
INSERT INTO "sqlite_sequence" VALUES('polls',1);
INSERT INTO "sqlite_sequence" VALUES('documents',1);
INSERT INTO "sqlite_sequence" VALUES('workshop_seats',1);
INSERT INTO "sqlite_sequence" VALUES('surveys',1);
COMMIT;
