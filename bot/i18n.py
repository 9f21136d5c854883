"""User-facing text, French first, English second. One catalogue; ``t(key, locale, **params)``."""

from __future__ import annotations

from typing import Any

DEFAULT_LOCALE = "fr"

MESSAGES: dict[str, dict[str, str]] = {
    # errors
    "error.generic": {"fr": "La commande a échoué.", "en": "The command failed."},
    "error.text": {"fr": "{text}", "en": "{text}"},
    "error.internal": {"fr": "Erreur interne (réf. {ref}).", "en": "Internal error (ref. {ref})."},
    "error.bad_argument": {
        "fr": "Argument invalide : {detail}\nUsage : {usage}",
        "en": "Invalid argument: {detail}\nUsage: {usage}",
    },
    "error.missing_argument": {
        "fr": "Argument manquant : {name}\nUsage : {usage}",
        "en": "Missing argument: {name}\nUsage: {usage}",
    },
    "error.too_many_arguments": {
        "fr": "Trop d'arguments.\nUsage : {usage}",
        "en": "Too many arguments.\nUsage: {usage}",
    },
    "error.subcommand": {
        "fr": "{name} {word} : sous-commande inconnue. Possibles : {choices} "
        "(détail : {prefix}help {name_bare}).",
        "en": "{name} {word}: unknown subcommand. Possible: {choices} "
        "(details: {prefix}help {name_bare}).",
    },
    "error.unclosed_quote": {
        "fr": "Guillemet non fermé dans la commande.",
        "en": "Unclosed quote in the command.",
    },
    "error.not_found": {"fr": "Introuvable : {what}", "en": "Not found: {what}"},
    "error.permission_denied": {"fr": "Refusé.", "en": "Refused."},
    "error.conflict": {"fr": "Conflit : {what}", "en": "Conflict: {what}"},
    "error.unknown_command": {
        "fr": "Commande inconnue : {name}.",
        "en": "Unknown command: {name}.",
    },
    "error.did_you_mean": {
        "fr": " Vouliez-vous dire {suggestion} ?",
        "en": " Did you mean {suggestion}?",
    },
    "error.see_help": {
        "fr": " Tapez {prefix}help pour la liste des commandes.",
        "en": " Type {prefix}help for the list of commands.",
    },
    # refusals: say why, reveal nothing
    "refused.admin_only": {
        "fr": "Commande réservée aux administrateurs.",
        "en": "This command is reserved for administrators.",
    },
    "refused.animator_only": {
        "fr": "Commande réservée aux animateurs et administrateurs.",
        "en": "This command is reserved for animators and administrators.",
    },
    "refused.manager_only": {
        "fr": "Commande réservée aux responsables de salon de direction.",
        "en": "This command is reserved for the managers of managerial rooms.",
    },
    "trust.refused.unverified": {
        "fr": "Refusé : cette session n'est pas vérifiée. Les commandes et réactions "
        "d'administration, d'animation et de gestion d'équipe ne comptent que depuis une session "
        "signée par votre identité de signature croisée. Vérifiez cette session depuis une "
        "session de confiance (Element : Paramètres › Sessions › Vérifier la session), puis "
        "recommencez. Rien n'a été fait.",
        "en": "Refused: this session is not verified. Administration, animation and team "
        "commands and reactions count only from a session signed by your cross-signing "
        "identity. Verify this session from a trusted one (Element: Settings › Sessions › "
        "Verify session), then try again. Nothing was done.",
    },
    "trust.refused.no_identity": {
        "fr": "Refusé : votre compte n'a pas d'identité de signature croisée. Configurez-la "
        "(Element : Paramètres › Sécurité et vie privée › Configurer la signature croisée) "
        "depuis cette session, puis recommencez. Rien n'a été fait.",
        "en": "Refused: your account has no cross-signing identity. Set it up (Element: "
        "Settings › Security & Privacy › Set up cross-signing) from this session, then try "
        "again. Nothing was done.",
    },
    "trust.refused.key_changed": {
        "fr": "Refusé : votre identité de signature croisée a changé depuis que le bot l'a "
        "enregistrée. Un autre administrateur doit accepter la nouvelle avec {prefix}trust "
        "{user} après l'avoir vérifiée avec vous. Rien n'a été fait.",
        "en": "Refused: your cross-signing identity changed since the bot recorded it. "
        "Another admin must accept the new one with {prefix}trust {user} after checking it "
        "with you. Nothing was done.",
    },
    "trust.changed_notice": {
        "fr": "⚠️ L'identité de signature croisée de {user} a changé.\n"
        "Ancienne : {old}\nNouvelle : {new}\n"
        "Ses commandes et réactions sont refusées, et ses nouvelles sessions ne reçoivent "
        "pas les clés de ce salon, jusqu'à ce qu'un autre administrateur, après avoir vérifié "
        "avec {user} par un autre moyen, l'accepte : {prefix}trust {user}",
        "en": "⚠️ The cross-signing identity of {user} changed.\n"
        "Old: {old}\nNew: {new}\n"
        "Their commands and reactions are refused, and their new sessions get no keys of "
        "this room, until another admin, having checked with {user} some other way, accepts "
        "it: {prefix}trust {user}",
    },
    "trust.accepted": {
        "fr": "Nouvelle identité de {user} acceptée.\nAncienne : {old}\nNouvelle : {new}",
        "en": "New identity of {user} accepted.\nOld: {old}\nNew: {new}",
    },
    "trust.not_yourself": {
        "fr": "Un autre administrateur doit accepter votre nouvelle identité.",
        "en": "Another admin must accept your new identity.",
    },
    "trust.nothing_known": {
        "fr": "Aucune identité de signature croisée connue pour {user}.",
        "en": "No cross-signing identity is known for {user}.",
    },
    "trust.nothing_to_accept": {
        "fr": "Rien à accepter : l'identité de {user} n'a pas changé ({fingerprint}).",
        "en": "Nothing to accept: the identity of {user} has not changed ({fingerprint}).",
    },
    "cmd.trust.help": {
        "fr": "Accepter la nouvelle identité de signature croisée d'un administrateur, "
        "animateur ou responsable (montre l'ancienne et la nouvelle)",
        "en": "Accept the new cross-signing identity of an admin, animator or manager "
        "(shows the old and the new one)",
    },
    "control.replaced": {
        "fr": "Ce salon de contrôle est fermé : le bot ne peut pas y retirer un ancien "
        "administrateur. Un nouveau salon de contrôle vous attend (invitation envoyée).",
        "en": "This control room is closed: the bot cannot remove a former administrator "
        "here. A new control room is waiting for you (invitation sent).",
    },
    "control.kick_reason": {
        "fr": "Salon réservé aux administrateurs d'Agora",
        "en": "Room reserved for Agora's administrators",
    },
    "control.former_admin_removed": {
        "fr": "{user} n'est plus administrateur : niveau ramené à 0 et retiré de ce salon. Ses "
        "droits d'administrateur dans les espaces et salons sont retirés par l'alignement qui "
        "suit.",
        "en": "{user} is no longer an administrator: level lowered to 0 and removed from this "
        "room. Their administrator rights in the spaces and rooms are withdrawn by the "
        "reconciliation that follows.",
    },
    "control.outsider_removed": {
        "fr": "{user} n'est pas administrateur : retiré de ce salon (il ne lit aucune fiche).",
        "en": "{user} is not an administrator: removed from this room (they read no card).",
    },
    "control.bot_removed": {
        "fr": "Agora n'est plus dans « {room} » ({membership} par {sender}) : personne n'y "
        "fait plus respecter l'adhésion. Réinvitez Agora dans ce salon (ou levez son "
        "bannissement) pour qu'il le surveille de nouveau.",
        "en": "Agora is no longer in “{room}” ({membership} by {sender}): nobody enforces "
        "membership there any more. Invite Agora back (or lift its ban) so that it watches "
        "the room again.",
    },
    "control.bot_removed.leave": {"fr": "retiré", "en": "removed"},
    "control.bot_removed.ban": {"fr": "banni", "en": "banned"},
    "control.unencrypted_ignored": {
        "fr": "Les messages et réactions non chiffrés de {user} dans ce salon sont ignorés : "
        "seuls les messages chiffrés de bout en bout comptent ici (un événement non chiffré ne "
        "prouve pas la session qui l'a envoyé). Element Web et Desktop n'envoient pas leurs "
        "réactions chiffrées : validez avec {prefix}approve <n°> et refusez avec {prefix}reject "
        "<n°> <motif>.",
        "en": "Unencrypted messages and reactions from {user} in this room are ignored: only "
        "end-to-end encrypted ones count here (an unencrypted event proves nothing of the "
        "session that sent it). Element Web and Desktop send their reactions unencrypted: "
        "approve with {prefix}approve <no.> and reject with {prefix}reject <no.> <reason>.",
    },
    "refused.member_only": {
        "fr": "Commande réservée aux membres vérifiés.",
        "en": "This command is reserved for verified members.",
    },
    "refused.where.control": {
        "fr": "Cette commande s'utilise uniquement dans le salon de contrôle.",
        "en": "This command is only accepted in the control room.",
    },
    "refused.where.dm": {
        "fr": "Cette commande s'utilise uniquement en message direct avec le bot.",
        "en": "This command is only accepted in a direct chat with the bot.",
    },
    "refused.where.managed": {
        "fr": "Cette commande s'utilise uniquement dans un salon géré par Agora.",
        "en": "This command is only accepted in a room managed by Agora.",
    },
    "refused.where.any": {
        "fr": "Cette commande n'est pas acceptée dans ce salon.",
        "en": "This command is not accepted in this room.",
    },
    "refused.unencrypted": {
        "fr": "Les commandes d'administration doivent être chiffrées.",
        "en": "Administration commands must be end-to-end encrypted.",
    },
    # argument types
    "arg.user_id": {
        "fr": "« {value} » n'est pas un identifiant Matrix (ex. @nom:serveur)",
        "en": "'{value}' is not a Matrix user id (e.g. @name:server)",
    },
    "arg.duration": {
        "fr": "« {value} » n'est pas une durée (ex. 15m, 2h).",
        "en": "'{value}' is not a duration (e.g. 15m, 2h).",
    },
    "arg.integer": {
        "fr": "« {value} » n'est pas un nombre entier",
        "en": "'{value}' is not a whole number",
    },
    "arg.command": {
        "fr": "« {value} » n'est pas une commande connue",
        "en": "'{value}' is not a known command",
    },
    # argument names in usage lines
    "meta.value": {"fr": "valeur", "en": "value"},
    "meta.word": {"fr": "mot", "en": "word"},
    "meta.text": {"fr": "texte", "en": "text"},
    "cmd.cancel_hold.help": {
        "fr": "Écarter une règle de bannissement en attente de confirmation",
        "en": "Drop a ban rule waiting for confirmation",
    },
    "cmd.policy.list.help": {
        "fr": "Les règles de la liste de la région",
        "en": "The rules of the region's list",
    },
    "cmd.policy.ban.help": {
        "fr": "Bannir un compte ou un serveur (globs * et ? permis ; confirmation au-delà de moderation.max_sweep)",
        "en": "Ban an account or a server (* and ? globs allowed; confirmation beyond moderation.max_sweep)",
    },
    "cmd.policy.unban.help": {
        "fr": "Lever une règle de la liste de la région",
        "en": "Withdraw a rule of the region's list",
    },
    "cmd.policy.trusted.help": {
        "fr": "Les listes des régions de confiance et leur état",
        "en": "The trusted regions' lists and how they are",
    },
    "meta.entity": {
        "fr": "@utilisateur:serveur|serveur",
        "en": "@user:server|server",
    },
    "cmd.feed.add.help": {
        "fr": "Suivre un flux (par défaut toutes les 30 min, dans les annonces du territoire)",
        "en": "Follow a feed (every 30 min by default, into the territory's announcements)",
    },
    "cmd.feed.remove.help": {
        "fr": "Ne plus suivre un flux",
        "en": "Stop following a feed",
    },
    "meta.url": {
        "fr": "https://…",
        "en": "https://…",
    },
    "meta.feed_target": {
        "fr": "territoire|salon",
        "en": "territory|room",
    },
    "meta.feed": {
        "fr": "n° de flux",
        "en": "feed no.",
    },
    "meta.level": {
        "fr": "info|vigilance|critique",
        "en": "info|warning|critical",
    },
    "cmd.alert.send.help": {
        "fr": "Envoyer une alerte aux salons d'annonces et communautés du territoire et en dessous",
        "en": "Send an alert to the announcement and community rooms of the territory and below",
    },
    "cmd.alert.status.help": {
        "fr": "Qui a accusé lecture d'une alerte, par territoire",
        "en": "Who acknowledged an alert, by territory",
    },
    "cmd.annuaire.join.help": {
        "fr": "Figurer dans l'annuaire (nom, profession, territoires ; jamais l'e-mail ni le RPPS)",
        "en": "Be listed (name, profession, territories; never the email or RPPS)",
    },
    "cmd.annuaire.withdraw.help": {
        "fr": "Ne plus figurer dans l'annuaire d'aucune région",
        "en": "Be listed in no region's directory any more",
    },
    "cmd.annuaire.search.help": {
        "fr": "Chercher par nom, profession ou territoire, dans toutes les régions",
        "en": "Search by name, profession or territory, across the regions",
    },
    "cmd.garde.help": {
        "fr": "Liste de garde : qui est de garde, quand, et mes gardes",
        "en": "On-call roster: who is on duty, when, and my slots",
    },
    "cmd.garde.now.help": {
        "fr": "Qui est de garde maintenant, ce soir et le week-end prochain",
        "en": "Who is on duty now, tonight and next weekend",
    },
    "cmd.garde.week.help": {
        "fr": "Les gardes des sept prochains jours",
        "en": "The slots of the next seven days",
    },
    "cmd.garde.day.help": {
        "fr": "Les gardes d'un jour (12/08, 12/08/2027, demain, samedi)",
        "en": "The slots of a day (12/08, 12/08/2027, tomorrow, saturday)",
    },
    "cmd.garde.mine.help": {
        "fr": "Mes prochaines gardes",
        "en": "My next slots",
    },
    "meta.day": {
        "fr": "jour",
        "en": "day",
    },
    "roster.unknown_territory": {
        "fr": "Aucune liste de garde pour « {territory} ».",
        "en": "No on-call roster for '{territory}'.",
    },
    "roster.none_for_you": {
        "fr": "Vous n'êtes sur aucune liste de garde.",
        "en": "You are on no on-call roster.",
    },
    "roster.unfilled": {
        "fr": "à pourvoir",
        "en": "unfilled",
    },
    "roster.now": {
        "fr": "De garde maintenant :",
        "en": "On duty now:",
    },
    "roster.tonight": {
        "fr": "Ce soir et cette nuit :",
        "en": "Tonight:",
    },
    "roster.weekend": {
        "fr": "Le week-end prochain :",
        "en": "Next weekend:",
    },
    "roster.nothing": {
        "fr": "(aucune garde)",
        "en": "(no slot)",
    },
    "roster.none_mine": {
        "fr": "Vous n'avez aucune garde à venir.",
        "en": "You have no slot to come.",
    },
    "roster.bad_day": {
        "fr": "« {value} » n'est pas une date (ex. 12/08, 12/08/2027, demain, samedi).",
        "en": "'{value}' is not a date (e.g. 12/08, 12/08/2027, tomorrow, saturday).",
    },
    "roster.import.empty": {
        "fr": "Le fichier est vide.",
        "en": "The file is empty.",
    },
    "roster.import.columns": {
        "fr": "Colonnes manquantes : {missing} (attendu : debut,fin,role,membre ou start,end,role,member).",
        "en": "Missing columns: {missing} (expected: start,end,role,member or debut,fin,role,membre).",
    },
    "roster.import.too_many": {
        "fr": "Plus de {n} lignes : découpez le fichier.",
        "en": "More than {n} rows: split the file.",
    },
    "roster.import.bad_time": {
        "fr": "heure illisible « {value} » (attendu AAAA-MM-JJ HH:MM)",
        "en": "unreadable time '{value}' (expected YYYY-MM-DD HH:MM)",
    },
    "roster.import.unknown_role": {
        "fr": "rôle inconnu « {role} »",
        "en": "unknown role '{role}'",
    },
    "roster.import.unknown_member": {
        "fr": "« {member} » n'est pas un membre vérifié de ce territoire",
        "en": "'{member}' is not a vetted member of this territory",
    },
    "roster.import.ambiguous_member": {
        "fr": "plusieurs membres s'appellent « {member} » : donnez l'identifiant Matrix ou le RPPS",
        "en": "several members are called '{member}': give the Matrix id or the RPPS",
    },
    "roster.import.past": {
        "fr": "date passée",
        "en": "date in the past",
    },
    "roster.import.outside": {
        "fr": "ce créneau n'est pas dans les modèles de garde",
        "en": "this slot is not in the roster's templates",
    },
    "roster.import.twice": {
        "fr": "même créneau que la ligne {line}",
        "en": "same slot as line {line}",
    },
    "roster.import.overlap": {
        "fr": "ce membre est déjà de garde à ce moment (ligne {line})",
        "en": "this member is already on duty then (line {line})",
    },
    "roster.import.overlap_held": {
        "fr": "ce membre est déjà de garde à ce moment (liste actuelle)",
        "en": "this member is already on duty then (the current roster)",
    },
    "roster.import.line": {
        "fr": "Ligne {line} : {why}",
        "en": "Line {line}: {why}",
    },
    "roster.import.more": {
        "fr": "… et {n} autres lignes refusées.",
        "en": "… and {n} more rows refused.",
    },
    "roster.import.done": {
        "fr": "Liste de garde importée : {n} créneau(x) pourvu(s) ({rows} ligne(s)).",
        "en": "Roster imported: {n} slot(s) filled ({rows} row(s)).",
    },
    "roster.import.refused": {
        "fr": "Rien n'est appliqué : {bad} ligne(s) sur {rows} refusée(s).",
        "en": "Nothing applied: {bad} row(s) of {rows} refused.",
    },
    "roster.import.bad_ics": {
        "fr": "Fichier iCalendar (ICS) illisible.",
        "en": "Unreadable iCalendar (ICS) file.",
    },
    "roster.import.not_text": {
        "fr": "« {name} » n'est ni un CSV ni un ICS lisible.",
        "en": "'{name}' is neither a readable CSV nor ICS file.",
    },
    "roster.import.report": {
        "fr": "{report}",
        "en": "{report}",
    },
    "roster.not_coordinator": {
        "fr": "Vous ne coordonnez pas la liste de garde « {territory} ».",
        "en": "You do not coordinate the '{territory}' on-call roster.",
    },
    "roster.not_coordinator_any": {
        "fr": "Vous ne coordonnez aucune liste de garde.",
        "en": "You coordinate no on-call roster.",
    },
    "roster.which": {
        "fr": "Précisez la liste : {choices}.",
        "en": "Name the roster: {choices}.",
    },
    "error.file.none": {
        "fr": "Aucun fichier : envoyez-le avec la commande en légende, ou répondez au message qui le porte par {prefix}garde import.",
        "en": "No file: send it with the command as its caption, or reply to the message carrying it with {prefix}garde import.",
    },
    "error.file.too_large": {
        "fr": "Le fichier dépasse {limit} ko.",
        "en": "The file is larger than {limit} kB.",
    },
    "error.file.unreadable": {
        "fr": "Impossible de lire ce fichier (introuvable, ou sa clé de chiffrement n'est pas parvenue au bot).",
        "en": "This file cannot be read (not found, or its encryption key did not reach the bot).",
    },
    "cmd.garde.import.help": {
        "fr": "Importer la liste de garde d'un fichier CSV ou ICS joint (en légende, ou en réponse au fichier) ; « partiel » : les lignes valides seulement",
        "en": "Import the roster from an attached CSV or ICS file (as its caption, or replying to the file); 'partial': the valid rows only",
    },
    "meta.import": {
        "fr": "[territoire] [partiel]",
        "en": "[territory] [partial]",
    },
    "roster.swap.no_when": {
        "fr": "Précisez la garde (ex. 12/08 ou 12/08 20h).",
        "en": "Name the slot (e.g. 12/08 or 12/08 20h).",
    },
    "roster.swap.no_slot": {
        "fr": "Aucune garde à vous le « {when} ».",
        "en": "You have no slot on '{when}'.",
    },
    "roster.swap.which_slot": {
        "fr": "Vous avez plusieurs gardes ce jour-là ; précisez l'heure (ex. 12/08 20h) :\n{slots}",
        "en": "You have several slots that day; add the time (e.g. 12/08 20h):\n{slots}",
    },
    "roster.swap.begun": {
        "fr": "Cette garde a déjà commencé.",
        "en": "This slot has already begun.",
    },
    "roster.swap.self": {
        "fr": "Vous ne pouvez pas vous céder une garde à vous-même.",
        "en": "You cannot hand a slot to yourself.",
    },
    "roster.swap.other_roster": {
        "fr": "Les deux gardes doivent être sur la même liste.",
        "en": "Both slots must be on the same roster.",
    },
    "roster.swap.not_on_roster": {
        "fr": "{user} n'est pas sur la liste de garde « {territory} ».",
        "en": "{user} is not on the '{territory}' on-call roster.",
    },
    "roster.swap.busy": {
        "fr": "{user} est déjà de garde à ce moment : {slot}.",
        "en": "{user} is already on duty then: {slot}.",
    },
    "roster.swap.proposed": {
        "fr": "{by} vous propose de prendre sa garde ({territory}) :\n{slot}\nPour accepter : ✅ sur ce message, ou {prefix}garde accepter {n}.",
        "en": "{by} offers you their slot ({territory}):\n{slot}\nTo accept: ✅ on this message, or {prefix}garde accepter {n}.",
    },
    "roster.swap.proposed_return": {
        "fr": "{by} vous propose un échange ({territory}) : vous prenez sa garde\n{slot}\net {by} prend la vôtre\n{theirs}\nPour accepter : ✅ sur ce message, ou {prefix}garde accepter {n}.",
        "en": "{by} offers you an exchange ({territory}): you take their slot\n{slot}\nand {by} takes yours\n{theirs}\nTo accept: ✅ on this message, or {prefix}garde accepter {n}.",
    },
    "roster.swap.sent": {
        "fr": "Proposition n°{n} envoyée à {user} : {slot}.",
        "en": "Offer #{n} sent to {user}: {slot}.",
    },
    "roster.release.offered": {
        "fr": "Garde à reprendre n°{n} ({territory}) :\n{slot}\nlibérée par {by}. Pour la prendre : {prefix}garde prendre {n}, ou ✅ sur ce message.",
        "en": "Slot to take #{n} ({territory}):\n{slot}\nreleased by {by}. To take it: {prefix}garde prendre {n}, or ✅ on this message.",
    },
    "roster.release.sent": {
        "fr": "Garde n°{n} proposée dans le salon des remplacements : {slot}. Vous la gardez tant que personne ne l'a reprise.",
        "en": "Slot #{n} offered in the replacements room: {slot}. It stays yours until someone takes it.",
    },
    "roster.offer.unknown": {
        "fr": "Aucune proposition n°{n}.",
        "en": "No offer #{n}.",
    },
    "roster.offer.already": {
        "fr": "Cette garde est déjà proposée.",
        "en": "This slot is already offered.",
    },
    "roster.offer.closed_n": {
        "fr": "La proposition n°{n} n'est plus ouverte ({status}).",
        "en": "Offer #{n} is no longer open ({status}).",
    },
    "roster.offer.taken": {
        "fr": "La garde n°{n} a déjà été reprise.",
        "en": "Slot #{n} has already been taken.",
    },
    "roster.offer.not_for_you": {
        "fr": "La proposition n°{n} ne vous est pas adressée.",
        "en": "Offer #{n} is not for you.",
    },
    "roster.offer.not_yours": {
        "fr": "La proposition n°{n} n'est pas la vôtre.",
        "en": "Offer #{n} is not yours.",
    },
    "roster.offer.not_accepted": {
        "fr": "La proposition n°{n} n'a pas encore été acceptée.",
        "en": "Offer #{n} has not been accepted yet.",
    },
    "roster.offer.to_approve": {
        "fr": "À valider — n°{n} ({territory}) : la garde\n{slot}\npasse de {by} à {to}.\nPour valider : ✅ sur ce message, ou {prefix}garde valider {n} ; sinon {prefix}garde refuser {n} [raison].",
        "en": "To approve — #{n} ({territory}): the slot\n{slot}\ngoes from {by} to {to}.\nTo approve: ✅ on this message, or {prefix}garde valider {n}; otherwise {prefix}garde refuser {n} [reason].",
    },
    "roster.offer.to_approve_return": {
        "fr": "À valider — échange n°{n} ({territory}) : la garde\n{slot}\npasse de {by} à {to}, et la garde\n{theirs}\nde {to} à {by}.\nPour valider : ✅ sur ce message, ou {prefix}garde valider {n} ; sinon {prefix}garde refuser {n} [raison].",
        "en": "To approve — exchange #{n} ({territory}): the slot\n{slot}\ngoes from {by} to {to}, and the slot\n{theirs}\nfrom {to} to {by}.\nTo approve: ✅ on this message, or {prefix}garde valider {n}; otherwise {prefix}garde refuser {n} [reason].",
    },
    "roster.offer.waiting": {
        "fr": "{to} accepte la proposition n°{n} ; en attente de la validation de la coordination.",
        "en": "{to} accepts offer #{n}; waiting for the coordinator's approval.",
    },
    "roster.offer.accepted": {
        "fr": "C'est noté (n°{n}) : la coordination doit encore valider.",
        "en": "Noted (#{n}): the coordinator still has to approve.",
    },
    "roster.offer.done": {
        "fr": "C'est fait (n°{n}) : la liste de garde est à jour.",
        "en": "Done (#{n}): the roster is up to date.",
    },
    "roster.offer.refused": {
        "fr": "La coordination refuse la proposition n°{n} : {reason}",
        "en": "The coordinator refuses offer #{n}: {reason}",
    },
    "roster.offer.refused_done": {
        "fr": "Proposition n°{n} refusée ; les intéressés sont prévenus.",
        "en": "Offer #{n} refused; those concerned are told.",
    },
    "roster.offer.cancelled": {
        "fr": "{by} retire la proposition n°{n}.",
        "en": "{by} withdraws offer #{n}.",
    },
    "roster.offer.cancelled_done": {
        "fr": "Proposition n°{n} retirée.",
        "en": "Offer #{n} withdrawn.",
    },
    "roster.offer.failed": {
        "fr": "La proposition n°{n} ne peut plus aboutir : {why}",
        "en": "Offer #{n} can no longer go through: {why}",
    },
    "roster.offer.closed": {
        "fr": "elle est close",
        "en": "it is closed",
    },
    "roster.offer.stale": {
        "fr": "la garde a changé de main ou a commencé entre-temps",
        "en": "the slot changed hands or began in the meantime",
    },
    "roster.offer.overlap": {
        "fr": "l'un des deux est déjà de garde à ce moment",
        "en": "one of the two is already on duty then",
    },
    "roster.offer.status.proposed": {
        "fr": "proposée",
        "en": "proposed",
    },
    "roster.offer.status.accepted": {
        "fr": "acceptée, à valider",
        "en": "accepted, to approve",
    },
    "roster.offer.status.done": {
        "fr": "faite",
        "en": "done",
    },
    "roster.offer.status.refused": {
        "fr": "refusée",
        "en": "refused",
    },
    "roster.offer.status.cancelled": {
        "fr": "retirée",
        "en": "withdrawn",
    },
    "roster.offer.status.expired": {
        "fr": "expirée",
        "en": "expired",
    },
    "roster.topic.on_duty": {
        "fr": "De garde : {who}",
        "en": "On duty: {who}",
    },
    "roster.topic.nobody": {
        "fr": "De garde : personne en ce moment",
        "en": "On duty: nobody right now",
    },
    "cmd.garde.swap.help": {
        "fr": "Proposer sa garde à un·e collègue, avec la sienne en échange ou non (@collègue 12/08 [contre 15/08])",
        "en": "Offer your slot to a colleague, with theirs in return or not (@colleague 12/08 [for 15/08])",
    },
    "cmd.garde.release.help": {
        "fr": "Libérer une de ses gardes dans le salon des remplacements",
        "en": "Release one of your slots in the replacements room",
    },
    "cmd.garde.accept.help": {
        "fr": "Accepter la garde qu'un·e collègue vous propose",
        "en": "Accept the slot a colleague offers you",
    },
    "cmd.garde.take.help": {
        "fr": "Prendre une garde libérée",
        "en": "Take a released slot",
    },
    "cmd.garde.approve.help": {
        "fr": "Valider un échange ou une reprise (coordination)",
        "en": "Approve a swap or a slot taken (coordinator)",
    },
    "cmd.garde.refuse.help": {
        "fr": "Refuser un échange ou une reprise (coordination)",
        "en": "Refuse a swap or a slot taken (coordinator)",
    },
    "cmd.garde.cancel.help": {
        "fr": "Retirer une de ses propositions",
        "en": "Withdraw one of your offers",
    },
    "cmd.garde.calendar.help": {
        "fr": "Recevoir le lien de son agenda de gardes (nouveau : en changer ; revoquer : le désactiver)",
        "en": "Get the link of your on-call calendar (new: change it; revoke: disable it)",
    },
    "meta.calendar_action": {
        "fr": "nouveau|revoquer",
        "en": "new|revoke",
    },
    "roster.calendar.made": {
        "fr": "📅 Votre agenda de gardes, à ajouter dans votre application d'agenda (abonnement par URL) :\n{mine}\n\nLes listes de garde que vous pouvez consulter :\n{feeds}\n\nCe lien est personnel : ne le partagez pas. « {prefix}garde calendrier nouveau » en donne un autre (l'ancien ne marche plus), « {prefix}garde calendrier revoquer » le désactive.",
        "en": "📅 Your on-call calendar, to add to your calendar application (subscribe by URL):\n{mine}\n\nThe rosters you may read:\n{feeds}\n\nThis link is personal: do not share it. “{prefix}garde calendrier new” gives another one (the old one stops working), “{prefix}garde calendrier revoke” disables it.",
    },
    "roster.calendar.exists": {
        "fr": "Vous avez déjà un lien d'agenda (créé le {since}). Il n'est pas conservé en clair, il ne peut donc pas être réaffiché : « {prefix}garde calendrier nouveau » en crée un autre et désactive l'ancien.",
        "en": "You already have a calendar link (made on {since}). It is not kept in clear, so it cannot be shown again: “{prefix}garde calendrier new” makes another one and disables the old one.",
    },
    "roster.calendar.revoked": {
        "fr": "Votre lien d'agenda est désactivé.",
        "en": "Your calendar link is disabled.",
    },
    "roster.calendar.none": {
        "fr": "Vous n'avez pas de lien d'agenda.",
        "en": "You have no calendar link.",
    },
    "roster.calendar.bad_action": {
        "fr": "« {value} » : attendu « nouveau » ou « revoquer ».",
        "en": "“{value}”: expected “new” or “revoke”.",
    },
    "roster.ics.mine_title": {
        "fr": "Mes gardes",
        "en": "My on-call duty",
    },
    "roster.ics.mine": {
        "fr": "Garde {role} — {territory}",
        "en": "On call: {role} — {territory}",
    },
    "roster.ics.title": {
        "fr": "Garde — {territory}",
        "en": "On call — {territory}",
    },
    "roster.ics.slot": {
        "fr": "{role} : {who}",
        "en": "{role}: {who}",
    },
    "cmd.absence.help": {
        "fr": "Absences et remplacements",
        "en": "Absences and replacements",
    },
    "cmd.absence.declare.help": {
        "fr": "Annoncer une absence : du 12/08 au 26/08 [remplacé·e par @x] [note]",
        "en": "Announce an absence: from 12/08 to 26/08 [replaced by @x] [note]",
    },
    "cmd.absence.mine.help": {
        "fr": "Ses absences et remplacements en cours et à venir",
        "en": "Your absences and replacements, current and coming",
    },
    "cmd.absence.end.help": {
        "fr": "Terminer son absence maintenant (ou l'annuler si elle n'a pas commencé)",
        "en": "End your absence now (or cancel it if it has not begun)",
    },
    "cmd.absence.extend.help": {
        "fr": "Prolonger son absence jusqu'à une date",
        "en": "Extend your absence until a date",
    },
    "cmd.absence.endorse.help": {
        "fr": "Présenter aux admins le·la remplaçant·e non vérifié·e d'une absence",
        "en": "Put the unvetted replacement of an absence to the admins",
    },
    "cmd.absences.help": {
        "fr": "Les absences en cours et à venir du territoire",
        "en": "The territory's current and coming absences",
    },
    "meta.absence": {
        "fr": "du … au … [remplacé·e par @x] [note]",
        "en": "from … to … [replaced by @x] [note]",
    },
    "meta.absence_number": {
        "fr": "n°",
        "en": "#",
    },
    "meta.absence_until": {
        "fr": "[n°] date",
        "en": "[#] date",
    },
    "absence.card": {
        "fr": "🗓️ Absence n°{n} — {who} : du {first} au {last}, {replaced}{note} ({status})",
        "en": "🗓️ Absence #{n} — {who}: from {first} to {last}, {replaced}{note} ({status})",
    },
    "absence.card.replaced": {
        "fr": "remplacé·e par {who}",
        "en": "replaced by {who}",
    },
    "absence.card.not_replaced": {
        "fr": "sans remplaçant·e",
        "en": "no replacement",
    },
    "absence.status.waiting": {
        "fr": "remplaçant·e en cours de vérification",
        "en": "replacement being vetted",
    },
    "absence.status.planned": {
        "fr": "à venir",
        "en": "coming",
    },
    "absence.status.active": {
        "fr": "en cours",
        "en": "current",
    },
    "absence.status.ended": {
        "fr": "terminée",
        "en": "over",
    },
    "absence.status.cancelled": {
        "fr": "annulée",
        "en": "cancelled",
    },
    "absence.declared": {
        "fr": "C'est noté, la communauté est prévenue :\n{card}",
        "en": "Noted, the community is told:\n{card}",
    },
    "absence.declared_waiting": {
        "fr": "C'est noté :\n{card}\nVotre remplaçant·e n'est pas encore membre vérifié·e : la coordination est prévenue pour présenter sa demande aux admins. Son accès sera limité à la période.",
        "en": "Noted:\n{card}\nYour replacement is not a vetted member yet: the coordination is told, to put their request to the admins. Their access will be limited to the period.",
    },
    "absence.ended": {
        "fr": "Absence n°{n} terminée. Les salons prêtés à votre remplaçant·e lui sont retirés.",
        "en": "Absence #{n} over. The rooms lent to your replacement are taken back.",
    },
    "absence.cancelled": {
        "fr": "Absence n°{n} annulée.",
        "en": "Absence #{n} cancelled.",
    },
    "absence.extended": {
        "fr": "Absence n°{n} prolongée jusqu'au {last} inclus.",
        "en": "Absence #{n} extended until {last} included.",
    },
    "absence.endorsed": {
        "fr": "Demande n°{request} déposée pour le·la remplaçant·e de l'absence n°{n}, avec votre parrainage : les admins la valident dans le salon de contrôle. Son accès sera limité à la période.",
        "en": "Request #{request} filed for the replacement of absence #{n}, endorsed by you: the admins decide in the control room. Their access will be limited to the period.",
    },
    "absence.none": {
        "fr": "Aucune absence en cours ou à venir.",
        "en": "No current or coming absence.",
    },
    "absence.none_mine": {
        "fr": "Vous n'avez pas d'absence en cours ou à venir.",
        "en": "You have no current or coming absence.",
    },
    "absence.not_member": {
        "fr": "Seuls les membres vérifiés annoncent une absence.",
        "en": "Only vetted members announce an absence.",
    },
    "absence.syntax": {
        "fr": "Écrivez par exemple « du 12/08 au 26/08 remplacé·e par @dr.x:exemple.fr congés » ou « le 14/08 ».",
        "en": "Write for example “from 12/08 to 26/08 replaced by @dr.x:example.org leave” or “on 14/08”.",
    },
    "absence.bad_day": {
        "fr": "« {value} » n'est pas une date (par exemple 12/08, 12/08/2027, demain, lundi).",
        "en": "“{value}” is not a date (for example 12/08, 12/08/2027, tomorrow, monday).",
    },
    "absence.backwards": {
        "fr": "La fin de l'absence est avant son début.",
        "en": "The absence ends before it begins.",
    },
    "absence.past": {
        "fr": "Cette absence est déjà passée.",
        "en": "This absence is already over.",
    },
    "absence.too_long": {
        "fr": "Une absence dure au plus {days} jours.",
        "en": "An absence lasts {days} days at most.",
    },
    "absence.self": {
        "fr": "Vous ne pouvez pas être votre propre remplaçant·e.",
        "en": "You cannot be your own replacement.",
    },
    "absence.overlaps": {
        "fr": "Vous avez déjà une absence à ces dates (n°{n}) : « !absence prolonger » la modifie.",
        "en": "You already have an absence on these dates (#{n}): “!absence prolonger” changes it.",
    },
    "absence.over": {
        "fr": "L'absence n°{n} est déjà terminée.",
        "en": "Absence #{n} is already over.",
    },
    "absence.not_later": {
        "fr": "La nouvelle date doit être après la fin actuelle de l'absence n°{n}.",
        "en": "The new date must be after the current end of absence #{n}.",
    },
    "absence.not_yours": {
        "fr": "Vous n'avez pas d'absence n°{n} en cours ou à venir.",
        "en": "You have no current or coming absence #{n}.",
    },
    "absence.which": {
        "fr": "Vous avez plusieurs absences : précisez laquelle ({choices}).",
        "en": "You have several absences: say which ({choices}).",
    },
    "absence.bad_number": {
        "fr": "« {value} » : attendu un numéro d'absence, par exemple n°12.",
        "en": "“{value}”: expected an absence number, for example #12.",
    },
    "absence.unknown_territory": {
        "fr": "Territoire inconnu : {territory}.",
        "en": "Unknown territory: {territory}.",
    },
    "absence.no_territory": {
        "fr": "Dites-le dans un salon de votre territoire : je ne sais pas de quel territoire vous êtes.",
        "en": "Say it in a room of your territory: I do not know which territory you belong to.",
    },
    "absence.no_room": {
        "fr": "Le territoire {territory} n'a pas de salon de remplacements ni de communauté.",
        "en": "Territory {territory} has no replacements or community room.",
    },
    "absence.no_waiting": {
        "fr": "L'absence n°{n} n'attend pas de remplaçant·e à présenter.",
        "en": "Absence #{n} is not waiting for a replacement to be put forward.",
    },
    "absence.not_coordinator": {
        "fr": "Seuls les animateurs de {territory} (ou au-dessus) présentent un·e remplaçant·e.",
        "en": "Only the animators of {territory} (or above) put a replacement forward.",
    },
    "absence.kick_reason": {
        "fr": "Fin du remplacement",
        "en": "Replacement over",
    },
    "absence.tell.begin": {
        "fr": "Vous remplacez {who} ({territory}) jusqu'au {until} inclus. Vous avez accès à ces salons pendant le remplacement :\n{rooms}",
        "en": "You replace {who} ({territory}) until {until} included. You have these rooms during the replacement:\n{rooms}",
    },
    "absence.tell.end": {
        "fr": "Le remplacement de {who} ({territory}) est terminé : l'accès aux salons prêtés pour la période est retiré. Merci !",
        "en": "The replacement of {who} ({territory}) is over: the rooms lent for the period are taken back. Thank you!",
    },
    "absence.tell.waiting": {
        "fr": 'À faire — {card}\nLe·la remplaçant·e n\'est pas membre vérifié·e. Pour présenter sa demande aux admins (son accès sera limité à la période) : {prefix}absence parrainer {n} nom="…" profession=… rpps=…',
        "en": 'To do — {card}\nThe replacement is not a vetted member. To put their request to the admins (their access limited to the period): {prefix}absence parrainer {n} nom="…" profession=… rpps=…',
    },
    "cmd.accueil.help": {
        "fr": "Accueillir un·e nouveau·elle membre",
        "en": "Welcome a new member",
    },
    "cmd.accueil.member.help": {
        "fr": "Envoyer à un membre admis l'accueil du territoire (règles, salons, coordination)",
        "en": "Send an admitted member the territory's welcome (rules, rooms, coordination)",
    },
    "cmd.accueil.yes.help": {
        "fr": "Accepter d'être présenté·e dans le salon de la communauté (commune facultative)",
        "en": "Agree to be introduced in the community room (town optional)",
    },
    "cmd.accueil.no.help": {
        "fr": "Ne pas être présenté·e dans le salon de la communauté",
        "en": "Not be introduced in the community room",
    },
    "meta.town": {
        "fr": "commune",
        "en": "town",
    },
    "welcome.not_member": {
        "fr": "{user} n'est pas membre de « {territory} » : admettez-le·la d'abord (!admit).",
        "en": "{user} is not a member of “{territory}”: admit them first (!admit).",
    },
    "welcome.already": {
        "fr": "{user} a déjà été accueilli·e dans « {territory} ».",
        "en": "{user} was already welcomed in “{territory}”.",
    },
    "welcome.sent": {
        "fr": "Message d'accueil de « {territory} » envoyé à {user}.",
        "en": "Welcome to “{territory}” sent to {user}.",
    },
    "welcome.nothing_to_answer": {
        "fr": "Vous n'avez pas de message d'accueil en attente de réponse.",
        "en": "You have no welcome waiting for an answer.",
    },
    "welcome.answered": {
        "fr": "Vous avez déjà répondu.",
        "en": "You have already answered.",
    },
    "welcome.bad_town": {
        "fr": "Une commune tient en {limit} caractères, sans symboles.",
        "en": "A town is at most {limit} characters, without symbols.",
    },
    "welcome.yes": {
        "fr": "Merci ! Vous serez présenté·e dans la communauté de « {territory} ».",
        "en": "Thank you! You will be introduced in the community of “{territory}”.",
    },
    "welcome.no": {
        "fr": "Entendu : vous ne serez pas présenté·e dans « {territory} ».",
        "en": "Understood: you will not be introduced in “{territory}”.",
    },
    "welcome.message": {
        "fr": "👋 Bienvenue dans « {territory} » !\n\n{rules}\n\nVos salons :\n{rooms}\n\nCoordination : {coordinators}",
        "en": "👋 Welcome to “{territory}”!\n\n{rules}\n\nYour rooms:\n{rooms}\n\nCoordination: {coordinators}",
    },
    "welcome.no_rules": {
        "fr": "Échanges entre professionnels, dans le respect du secret médical : pas de données de patients identifiables.",
        "en": "Exchanges between professionals, respecting medical secrecy: no identifiable patient data.",
    },
    "welcome.ask": {
        "fr": "Souhaitez-vous être présenté·e aux membres dans « {room} » (nom, profession, commune) ? Répondez ✅ à ce message, ou « {prefix}accueil oui [votre commune] » ; « {prefix}accueil non » sinon.",
        "en": "Would you like to be introduced to the members in “{room}” (name, profession, town)? React ✅ to this message, or “{prefix}accueil oui [your town]”; “{prefix}accueil non” otherwise.",
    },
    "welcome.introduction": {
        "fr": "👋 {name}, {profession}, arrive à {town}. Bienvenue !",
        "en": "👋 {name}, {profession}, joins in {town}. Welcome!",
    },
    "welcome.digest": {
        "fr": "Arrivées de la semaine dans « {territory} » ({n}) :\n{lines}",
        "en": "This week's arrivals in “{territory}” ({n}):\n{lines}",
    },
    "welcome.unknown_territory": {
        "fr": "Territoire inconnu : {territory}.",
        "en": "Unknown territory: {territory}.",
    },
    "absence.not_yours_to_read": {
        "fr": "Seuls les membres du territoire, ses animateurs et les admins voient ses absences.",
        "en": "Only the territory's members, its animators and the admins see its absences.",
    },
    "vetting.card.rpps_entry": {
        "fr": "{last} {first}, {profession}, {places} (annuaire du {date})",
        "en": "{last} {first}, {profession}, {places} (directory of {date})",
    },
    "vetting.card.rpps_found": {
        "fr": "✅ RPPS trouvé : {entry}",
        "en": "✅ RPPS found: {entry}",
    },
    "vetting.card.rpps_mismatch": {
        "fr": "⚠️ RPPS trouvé, mais {what} : {entry}",
        "en": "⚠️ RPPS found, but {what}: {entry}",
    },
    "vetting.card.rpps_other_name": {
        "fr": "nom différent",
        "en": "another name",
    },
    "vetting.card.rpps_other_profession": {
        "fr": "profession différente",
        "en": "another profession",
    },
    "vetting.card.rpps_absent": {
        "fr": "⚠️ RPPS absent de l'annuaire (annuaire du {date})",
        "en": "⚠️ RPPS not in the directory (directory of {date})",
    },
    "vetting.card.rpps_not_consulted": {
        "fr": "Annuaire non consulté (numéro ADELI)",
        "en": "Directory not consulted (ADELI number)",
    },
    "cmd.rpps.help": {
        "fr": "L'annuaire national des professionnels de santé (RPPS)",
        "en": "The national directory of health professionals (RPPS)",
    },
    "cmd.rpps.status.help": {
        "fr": "Quel annuaire est chargé",
        "en": "Which directory is loaded",
    },
    "cmd.rpps.gaps.help": {
        "fr": "Les membres que l'annuaire ne confirme plus",
        "en": "The members the directory no longer bears out",
    },
    "rpps.none_loaded": {
        "fr": "Aucun annuaire n'est chargé (agora-bot import-directory).",
        "en": "No directory is loaded (agora-bot import-directory).",
    },
    "rpps.status": {
        "fr": "Annuaire du {date} chargé : {people} professionnel(s).",
        "en": "Directory of {date} loaded: {people} professional(s).",
    },
    "rpps.gaps.none": {
        "fr": "L'annuaire du {date} confirme tous les membres qui ont un numéro RPPS.",
        "en": "The directory of {date} bears out every member with an RPPS number.",
    },
    "rpps.gaps.all": {
        "fr": "Annuaire du {date} — {n} membre(s) à regarder :\n{lines}",
        "en": "Directory of {date} — {n} member(s) to look at:\n{lines}",
    },
    "rpps.gaps.new": {
        "fr": "🔎 Annuaire du {date} chargé — {n} membre(s) à regarder (personne n'est retiré sans vous : {prefix}revoke) :\n{lines}",
        "en": "🔎 Directory of {date} loaded — {n} member(s) to look at (nobody is removed without you: {prefix}revoke):\n{lines}",
    },
    "rpps.gap.left": {
        "fr": "n'est plus dans l'annuaire (retraite, radiation…)",
        "en": "no longer in the directory (retired, struck off…)",
    },
    "rpps.gap.profession": {
        "fr": "dans l'annuaire comme {profession}",
        "en": "in the directory as {profession}",
    },
    "rpps.download_failed": {
        "fr": "⚠️ Annuaire RPPS : le téléchargement ou le chargement a échoué, l'annuaire en place est gardé ({why}).",
        "en": "⚠️ RPPS directory: the download or the load failed; the directory in place is kept ({why}).",
    },
    "vetting.card.rpps_none_loaded": {
        "fr": "⚠️ Annuaire RPPS exigé mais aucun n'est chargé : numéro non vérifié",
        "en": "⚠️ RPPS directory required but none is loaded: number not checked",
    },
    "vetting.card.override": {
        "fr": "Refusée par l'annuaire : {prefix}approve {id} --sans-annuaire <raison> pour l'admettre quand même",
        "en": "Refused by the directory: {prefix}approve {id} --sans-annuaire <reason> to admit them anyway",
    },
    "vetting.directory_refused": {
        "fr": "La demande #{id} a été refusée par l'annuaire RPPS : « {prefix}approve {id} --sans-annuaire <raison> » pour l'admettre quand même.",
        "en": "Request #{id} was refused by the RPPS directory: “{prefix}approve {id} --sans-annuaire <reason>” to admit them anyway.",
    },
    "vetting.override_reason_required": {
        "fr": "Admettre sans l'annuaire demande une raison : --sans-annuaire <raison>.",
        "en": "Admitting without the directory needs a reason: --sans-annuaire <reason>.",
    },
    "vetting.override_one_at_a_time": {
        "fr": "--sans-annuaire s'emploie pour une demande à la fois.",
        "en": "--sans-annuaire is for one request at a time.",
    },
    "vetting.directory.reason": {
        "fr": "annuaire RPPS : {what}",
        "en": "RPPS directory: {what}",
    },
    "vetting.directory.what.absent": {
        "fr": "numéro absent de l'annuaire",
        "en": "number not in the directory",
    },
    "vetting.directory.what.name": {
        "fr": "nom différent",
        "en": "another name",
    },
    "vetting.directory.what.profession": {
        "fr": "profession différente",
        "en": "another profession",
    },
    "vetting.applicant.directory_refused": {
        "fr": "Votre demande #{id} n'a pas pu être acceptée : l'annuaire national des professionnels de santé (RPPS) ne la confirme pas ({what}). Vérifiez votre numéro RPPS, votre nom et votre profession ; si c'est une erreur, écrivez aux admins : {contact}.",
        "en": "Your request #{id} could not be accepted: the national directory of health professionals (RPPS) does not bear it out ({what}). Check your RPPS number, name and profession; if this is a mistake, write to the admins: {contact}.",
    },
    "vetting.card.rpps_territory": {
        "fr": "📍 Exerce dans « {territory} » selon l'annuaire (demandé : {asked})",
        "en": "📍 Practises in “{territory}” according to the directory (asked: {asked})",
    },
    "vetting.directory_not_borne_out": {
        "fr": "L'annuaire RPPS ne confirme pas la demande #{id} : « {prefix}approve {id} --sans-annuaire <raison> » pour l'admettre quand même.",
        "en": "The RPPS directory does not bear out request #{id}: “{prefix}approve {id} --sans-annuaire <reason>” to admit them anyway.",
    },
    "rpps.gaps.more": {
        "fr": "… et {n} autre(s) : {prefix}rpps ecarts",
        "en": "… and {n} more: {prefix}rpps ecarts",
    },
    "web.confirm.refused": {
        "fr": "Adresse confirmée.",
        "en": "Address confirmed.",
    },
    "vetting.directory.what.rpps_missing": {
        "fr": "pas de numéro RPPS, alors que votre profession est dans l'annuaire",
        "en": "no RPPS number, though your profession is in the directory",
    },
    "vetting.card.rpps_missing": {
        "fr": "⚠️ Pas de numéro RPPS : cette profession est dans l'annuaire (annuaire du {date})",
        "en": "⚠️ No RPPS number: this profession is in the directory (directory of {date})",
    },
    "meta.slot": {
        "fr": "garde",
        "en": "slot",
    },
    "meta.swap": {
        "fr": "garde [contre garde]",
        "en": "slot [for slot]",
    },
    "roster.post.title": {
        "fr": "Garde du {day} :",
        "en": "On duty, {day}:",
    },
    "roster.warn": {
        "fr": "Garde à pourvoir ({territory}), dans moins de {hours} h :\n{slot}",
        "en": "Unfilled slot ({territory}), within {hours} h:\n{slot}",
    },
    "roster.warn24": {
        "fr": "Toujours à pourvoir ({territory}), dans moins de 24 h :\n{slot}",
        "en": "Still unfilled ({territory}), within 24 h:\n{slot}",
    },
    "roster.remind": {
        "fr": "Rappel : vous êtes de garde\n{slot}",
        "en": "Reminder: you are on duty\n{slot}",
    },
    "roster.emptied": {
        "fr": "Les gardes à venir de {user} (qui n'est plus membre) sont à pourvoir :\n{slots}",
        "en": "{user}'s slots to come (no longer a member) are to be filled:\n{slots}",
    },
    "meta.number": {"fr": "nombre", "en": "number"},
    "meta.duration": {"fr": "durée", "en": "duration"},
    "meta.user": {"fr": "@utilisateur:serveur", "en": "@user:server"},
    "meta.command": {"fr": "commande", "en": "command"},
    # help
    "help.title": {"fr": "Commandes disponibles :", "en": "Available commands:"},
    "help.footer": {
        "fr": "Détail d'une commande : {prefix}help <commande>",
        "en": "Details of a command: {prefix}help <command>",
    },
    "help.usage": {"fr": "Usage : {usage}", "en": "Usage: {usage}"},
    "help.role": {"fr": "Réservée à : {role}", "en": "For: {role}"},
    "help.where": {"fr": "Où : {where}", "en": "Where: {where}"},
    "role.admin": {"fr": "administrateurs", "en": "administrators"},
    "role.manager": {"fr": "responsables", "en": "managers"},
    "role.animator": {"fr": "animateurs", "en": "animators"},
    "role.member": {"fr": "membres vérifiés", "en": "verified members"},
    "role.anyone": {"fr": "tout le monde", "en": "anyone"},
    "where.control": {"fr": "salon de contrôle", "en": "control room"},
    "where.dm": {"fr": "message direct", "en": "direct chat"},
    "where.managed": {"fr": "salons gérés", "en": "managed rooms"},
    # commands
    "cmd.ping.help": {"fr": "Vérifier que le bot répond", "en": "Check that the bot answers"},
    "cmd.ping.reply": {"fr": "pong ({ms} ms)", "en": "pong ({ms} ms)"},
    "cmd.help.help": {
        "fr": "Lister les commandes, ou détailler l'une d'elles",
        "en": "List the commands, or describe one",
    },
    "cmd.status.help": {
        "fr": "État du bot : version, disponibilité, serveur, appareil, données",
        "en": "Bot status: version, uptime, homeserver, device, stored data",
    },
    "cmd.status.reply": {
        "fr": (
            "Agora {version}\n"
            "En service depuis : {uptime}\n"
            "Serveur : {homeserver} ({server_name})\n"
            "Appareil du bot : {device_id}\n"
            "Empreinte ed25519 : {fingerprint}\n"
            "Signature croisée : {cross_signed}\n"
            "Données : {counts}"
        ),
        "en": (
            "Agora {version}\n"
            "Up for: {uptime}\n"
            "Homeserver: {homeserver} ({server_name})\n"
            "Bot device: {device_id}\n"
            "ed25519 fingerprint: {fingerprint}\n"
            "Cross-signing: {cross_signed}\n"
            "Stored: {counts}"
        ),
    },
    "cmd.status.cross_signed.yes": {
        "fr": "appareil signé par l'identité du bot",
        "en": "device signed by the bot's identity",
    },
    "cmd.status.cross_signed.no": {"fr": "non signé", "en": "not signed"},
    "cmd.status.counts": {
        "fr": "{commands} commandes traitées, {audit} entrées d'audit, {rooms} salons suivis",
        "en": "{commands} commands handled, {audit} audit entries, {rooms} tracked rooms",
    },
    # control room
    "control.name": {"fr": "Agora · Salon de contrôle", "en": "Agora · Control room"},
    "control.topic": {
        "fr": "Administration du réseau Agora (chiffré, sur invitation).",
        "en": "Administration of the Agora network (encrypted, invite only).",
    },
    # territories: plans and reconcile
    "plan.nothing": {
        "fr": "Rien à faire : le serveur correspond à la configuration.",
        "en": "Nothing to do: the homeserver matches the configuration.",
    },
    "plan.summary": {"fr": "{n} changement(s) prévu(s) :", "en": "{n} planned change(s):"},
    "plan.create_space": {"fr": "créer l'espace « {0} » ({1})", "en": "create space '{0}' ({1})"},
    "plan.create_room": {
        "fr": "créer le salon chiffré « {0} » ({1})",
        "en": "create encrypted room '{0}' ({1})",
    },
    "plan.adopt": {
        "fr": "reprendre le salon existant {1} pour « {0} »",
        "en": "take over existing room {1} as '{0}'",
    },
    "plan.link": {"fr": "rattacher « {0} » à l'espace {1}", "en": "put '{0}' under space {1}"},
    "plan.unlink": {"fr": "retirer {0} de l'espace « {1} »", "en": "remove {0} from space '{1}'"},
    "plan.invite": {"fr": "inviter {0} dans « {1} »", "en": "invite {0} to '{1}'"},
    "plan.force_join": {
        "fr": "faire entrer {0} dans « {1} » (API d'administration)",
        "en": "join {0} into '{1}' (admin API)",
    },
    "plan.archive": {
        "fr": "archiver « {0} » (détaché, renommé, lecture seule, historique gardé)",
        "en": "archive '{0}' (detached, renamed, read-only, history kept)",
    },
    "plan.rename": {"fr": "renommer « {0} » en « {1} »", "en": "rename '{0}' to '{1}'"},
    "plan.topic": {"fr": "mettre à jour le sujet de « {0} »", "en": "update the topic of '{0}'"},
    "plan.encrypt": {
        "fr": "activer le chiffrement de bout en bout dans « {0} »",
        "en": "turn on end-to-end encryption in '{0}'",
    },
    "plan.guests": {
        "fr": "interdire l'accès invité dans « {0} »",
        "en": "forbid guest access in '{0}'",
    },
    "plan.history": {
        "fr": "historique visible depuis l'invitation dans « {0} »",
        "en": "history visible from the invitation on in '{0}'",
    },
    "plan.join_rule": {
        "fr": "règle d'accès de « {0} » : {1} → {2}",
        "en": "join rule of '{0}': {1} → {2}",
    },
    "plan.power": {"fr": "niveaux de pouvoir dans « {0} » :", "en": "power levels in '{0}':"},
    "plan.power_user": {"fr": "niveau de {0} : {1} → {2}", "en": "level of {0}: {1} → {2}"},
    "plan.power_setting": {"fr": "{0} : {1} → {2}", "en": "{0}: {1} → {2}"},
    "plan.power_events": {
        "fr": "niveaux requis par type d'événement",
        "en": "levels required per event type",
    },
    "plan.acl": {"fr": "ACL des serveurs de « {0} » : {1}", "en": "server ACL of '{0}': {1}"},
    "plan.alias": {"fr": "adresse de « {0} » : {1}", "en": "address of '{0}': {1}"},
    "plan.parent": {
        "fr": "lien vers l'espace parent dans « {0} »",
        "en": "link to the parent space in '{0}'",
    },
    "plan.unparent": {
        "fr": "retirer un lien vers un autre espace dans « {0} »",
        "en": "remove a link to another space in '{0}'",
    },
    "reconcile.busy": {
        "fr": "Une synchronisation du réseau est déjà en cours ; réessayez.",
        "en": "A network reconcile is already running; try again.",
    },
    "reconcile.adopt_not_member": {
        "fr": "Impossible de reprendre {room} : le bot n'y est pas (invitez-le).",
        "en": "Cannot take over {room}: the bot is not in it (invite it).",
    },
    "reconcile.adopt_no_power": {
        "fr": "Impossible de reprendre {room} : le bot doit y avoir le niveau 100.",
        "en": "Cannot take over {room}: the bot needs power level 100 there.",
    },
    "reconcile.alias_taken": {
        "fr": "L'adresse {alias} désigne déjà un autre salon.",
        "en": "The address {alias} already points to another room.",
    },
    "reconcile.progress": {
        "fr": "Application du plan… {done}/{total}",
        "en": "Applying the plan… {done}/{total}",
    },
    "reconcile.done": {
        "fr": "Réseau à jour : {n} changement(s) appliqué(s).",
        "en": "Network up to date: {n} change(s) applied.",
    },
    "reconcile.failed": {"fr": "{n} changement(s) ont échoué :", "en": "{n} change(s) failed:"},
    "reconcile.resumed": {
        "fr": "Reprise après une application interrompue (#{id} : {done}/{planned}).",
        "en": "Resumed after an interrupted apply (#{id}: {done}/{planned}).",
    },
    "reconcile.unreachable": {
        "fr": "Hors de portée du bot (retiré ?) : {keys}",
        "en": "Out of the bot's reach (removed?): {keys}",
    },
    "reconcile.drift": {
        "fr": "Modification manuelle annulée dans « {name} » ({what}, par {sender}) : "
        "l'état déclaré est rétabli.",
        "en": "Manual change undone in '{name}' ({what}, by {sender}): the declared state "
        "is restored.",
    },
    "reload.restart": {
        "fr": "Ces réglages changés ne prendront effet qu'au prochain démarrage du bot : {keys}",
        "en": "These changed settings take effect only when the bot starts again: {keys}",
    },
    "reload.ok": {"fr": "Configuration rechargée.", "en": "Configuration reloaded."},
    "reload.error": {
        "fr": "Configuration refusée, l'ancienne reste en place : {error}",
        "en": "Configuration refused, the previous one stays: {error}",
    },
    "jobs.gave_up": {
        "fr": "Tâche n°{id} ({kind}) abandonnée après {attempts} essais (réf. {ref}). "
        "{prefix}jobs pour le détail, {prefix}jobs retry {id} pour la relancer.",
        "en": "Job #{id} ({kind}) given up after {attempts} attempts (ref. {ref}). "
        "{prefix}jobs for details, {prefix}jobs retry {id} to run it again.",
    },
    "events.gave_up": {
        "fr": "Un événement ({kind}) n'a pas pu être traité après plusieurs essais "
        "(réf. {ref}, voir le journal).",
        "en": "An event ({kind}) could not be handled after several attempts "
        "(ref. {ref}, see the log).",
    },
    "cmd.jobs.help": {
        "fr": "Tâches durables : list, retry, cancel",
        "en": "Durable jobs: list, retry, cancel",
    },
    "cmd.jobs.list.help": {
        "fr": "Les tâches en attente, relancées ou abandonnées, avec leur dernière erreur",
        "en": "Jobs waiting, retrying or given up, with their last error",
    },
    "cmd.jobs.retry.help": {
        "fr": "Relancer une tâche maintenant",
        "en": "Run a job again now",
    },
    "cmd.jobs.cancel.help": {
        "fr": "Annuler une tâche en attente ou abandonnée",
        "en": "Cancel a waiting or given-up job",
    },
    "meta.job": {"fr": "n° de tâche", "en": "job no."},
    "cmd.token.help": {
        "fr": "Jetons d'inscription des candidats du formulaire web : renew",
        "en": "Registration tokens of web applicants: renew",
    },
    "cmd.token.renew.help": {
        "fr": "Un nouveau jeton pour une demande acceptée dont le jeton n'a pas servi (expiré)",
        "en": "A new token for an approved request whose token was not used (expired)",
    },
    "token.renewed": {
        "fr": "Nouveau jeton d'inscription pour la demande #{id}, valable {days} jours ; "
        "l'ancien est retiré. La personne est prévenue par courriel et le trouve sur sa page "
        "de suivi.",
        "en": "New registration token for request #{id}, valid {days} days; the old one is "
        "withdrawn. The applicant is told by mail and finds it on their status page.",
    },
    "token.not_renewable": {
        "fr": "La demande #{id} n'est pas une demande web acceptée en attente d'inscription.",
        "en": "Request #{id} is not an approved web request waiting for a registration.",
    },
    "token.already_used": {
        "fr": "Le jeton de la demande #{id} a déjà servi (compte {user}).",
        "en": "The token of request #{id} was used already (account {user}).",
    },
    "mail.token.subject": {
        "fr": "Agora : un nouveau jeton d'inscription (demande #{id})",
        "en": "Agora: a new registration token (request #{id})",
    },
    "mail.token.body": {
        "fr": "Bonjour {name},\n\nUn nouveau jeton d'inscription a été émis pour votre demande "
        "acceptée ; il est valable {days} jours. Ouvrez votre page de suivi (le lien reçu lors "
        "de votre demande) pour le trouver et créer votre compte.\n\nL'équipe Agora",
        "en": "Hello {name},\n\nA new registration token was issued for your approved request; "
        "it is valid for {days} days. Open your status page (the link you got when you asked) "
        "to find it and create your account.\n\nThe Agora team",
    },
    "undecryptable.told": {
        "fr": "Je n'ai pas pu lire ce message : il est chiffré et sa clé ne m'est pas parvenue. "
        "Renvoyez-le, s'il vous plaît (si cela se répète, vérifiez votre session ou "
        "rechargez votre application).",
        "en": "I could not read this message: it is encrypted and its key did not reach me. "
        "Please send it again (if this keeps happening, verify your session or reload your "
        "app).",
    },
    "jobs.none": {"fr": "Aucune tâche en attente.", "en": "No job waiting."},
    "jobs.title": {"fr": "Tâches ouvertes ({n}) :", "en": "Open jobs ({n}):"},
    "jobs.line.waiting": {
        "fr": "• n°{id} {kind} : en attente (dans {wait})",
        "en": "• #{id} {kind}: waiting (in {wait})",
    },
    "jobs.line.retrying": {
        "fr": "• n°{id} {kind} : {attempts} essai(s), prochain dans {wait} ; dernière erreur : "
        "{error}",
        "en": "• #{id} {kind}: {attempts} attempt(s), next in {wait}; last error: {error}",
    },
    "jobs.line.failed": {
        "fr": "• n°{id} {kind} : abandonnée après {attempts} essai(s) ; dernière erreur : {error}",
        "en": "• #{id} {kind}: given up after {attempts} attempt(s); last error: {error}",
    },
    "jobs.hint": {
        "fr": "{prefix}jobs retry <n> pour relancer, {prefix}jobs cancel <n> pour annuler.",
        "en": "{prefix}jobs retry <n> to run one again, {prefix}jobs cancel <n> to cancel it.",
    },
    "jobs.retrying": {"fr": "Tâche n°{id} relancée.", "en": "Job #{id} running again."},
    "jobs.cancelled": {
        "fr": "Tâche n°{id} ({kind}) annulée.",
        "en": "Job #{id} ({kind}) cancelled.",
    },
    "jobs.unknown": {"fr": "Aucune tâche n°{id}.", "en": "No job #{id}."},
    "jobs.closed": {
        "fr": "La tâche n°{id} est déjà terminée ({status}).",
        "en": "Job #{id} is already over ({status}).",
    },
    "enforce.reason": {
        "fr": "Accès réservé aux membres vérifiés de ce territoire.",
        "en": "Only verified members of this territory may be here.",
    },
    "enforce.note": {
        "fr": "{user} retiré·e de {room} ({membership}) : pas membre vérifié·e de ce territoire.",
        "en": "{user} removed from {room} ({membership}): not a verified member of this territory.",
    },
    "enforce.banned_note": {
        "fr": "{user} retiré·e de {room} ({membership}) : visé·e par une règle de bannissement "
        "({reason}).",
        "en": "{user} removed from {room} ({membership}): a ban rule matches them ({reason}).",
    },
    "enforce.banned_reason": {
        "fr": "Exclu·e du réseau (règle de modération)",
        "en": "Excluded from the network (moderation rule)",
    },
    # the web join form
    "web.join.title": {"fr": "Demande d'adhésion au réseau", "en": "Ask to join the network"},
    "web.join.intro": {
        "fr": "Réseau des professionnels de santé de la région, sur Matrix (messagerie "
        "chiffrée). Chaque demande est vérifiée par les administrateurs de l'agence ; vous "
        "recevrez un lien privé pour en suivre l'état.",
        "en": "The region's health professionals' network, on Matrix (encrypted messaging). "
        "Each request is checked by the agency's admins; you get a private link to follow it.",
    },
    "web.join.problems": {
        "fr": "La demande n'est pas enregistrée :",
        "en": "The request is not recorded:",
    },
    "web.join.submit": {"fr": "Envoyer la demande", "en": "Send the request"},
    "web.join.privacy": {
        "fr": "Ces informations servent uniquement à vérifier votre demande ; elles sont "
        "effacées sur demande après un refus ou un départ (RGPD).",
        "en": "This information is only used to check your request; it is erased on request "
        "after a rejection or a departure (GDPR).",
    },
    "web.field.name": {"fr": "Nom et prénom", "en": "Full name"},
    "web.field.profession": {"fr": "Profession", "en": "Profession"},
    "web.field.structure": {"fr": "Structure d'exercice", "en": "Practice or organisation"},
    "web.field.territory": {"fr": "Territoire", "en": "Territory"},
    "web.field.email": {"fr": "Adresse électronique", "en": "Email address"},
    "web.hint.rpps": {
        "fr": "(11 chiffres, si votre profession en a un)",
        "en": "(11 digits, if your profession has one)",
    },
    "web.hint.adeli": {
        "fr": "(9 caractères, à défaut de RPPS)",
        "en": "(9 characters, when there is no RPPS)",
    },
    "web.hint.optional": {"fr": "(facultatif)", "en": "(optional)"},
    "web.status.title": {"fr": "Demande n° {id}", "en": "Request no. {id}"},
    "web.status.keep": {
        "fr": "Gardez l'adresse de cette page : c'est votre lien privé pour suivre la demande.",
        "en": "Keep this page's address: it is your private link to follow the request.",
    },
    "web.status.pending": {
        "fr": "En cours d'examen : {n} validation(s) sur {required}.",
        "en": "Being checked: {n} of {required} approval(s).",
    },
    "web.status.rejected": {
        "fr": "Votre demande a été refusée. Motif : {reason}",
        "en": "Your request was rejected. Reason: {reason}",
    },
    "web.status.unconfirmed": {
        "fr": "Confirmez d'abord votre adresse : un courriel vient d'être envoyé à {email} avec "
        "un lien de confirmation. Votre demande ne parvient aux administrateurs qu'après. Sans "
        "confirmation dans les {hours} h, elle est effacée.",
        "en": "First confirm your address: an email was just sent to {email} with a "
        "confirmation link. Your request reaches the admins only then. Without confirmation "
        "within {hours} h, it is erased.",
    },
    "web.status.expired": {
        "fr": "Cette demande n'a pas été confirmée à temps et a été effacée. Vous pouvez en "
        "déposer une nouvelle.",
        "en": "This request was not confirmed in time and was erased. You may file a new one.",
    },
    "web.confirm.title": {"fr": "Confirmation de l'adresse", "en": "Address confirmation"},
    "web.confirm.intro": {
        "fr": "Confirmez votre adresse électronique pour transmettre la demande n° {id} aux "
        "administrateurs du réseau.",
        "en": "Confirm your email address to send request no. {id} to the network's admins.",
    },
    "web.confirm.button": {"fr": "Confirmer mon adresse", "en": "Confirm my address"},
    "web.confirm.done": {
        "fr": "Adresse confirmée : votre demande est transmise aux administrateurs. Suivez-la "
        "sur votre page de suivi.",
        "en": "Address confirmed: your request is sent to the admins. Follow it on your "
        "status page.",
    },
    "web.confirm.already": {
        "fr": "Cette adresse est déjà confirmée ; la demande suit son cours.",
        "en": "This address is already confirmed; the request is on its way.",
    },
    "web.confirm.unknown": {
        "fr": "Ce lien de confirmation n'est pas (ou plus) valable. Déposez une nouvelle "
        "demande si besoin.",
        "en": "This confirmation link is not (or no longer) valid. File a new request if needed.",
    },
    "mail.confirm.subject": {
        "fr": "Confirmez votre demande d'adhésion n° {id}",
        "en": "Confirm your membership request no. {id}",
    },
    "mail.confirm.body": {
        "fr": "Bonjour {name},\n\nVous (ou quelqu'un avec votre adresse) avez demandé à "
        "rejoindre le réseau professionnel de santé. Pour transmettre la demande aux "
        "administrateurs, ouvrez ce lien et confirmez :\n\n{link}\n\nSans confirmation dans "
        "les {hours} heures, la demande est effacée. Si vous n'êtes pas à l'origine de cette "
        "demande, ignorez ce message.\n",
        "en": "Hello {name},\n\nYou (or someone with your address) asked to join the health "
        "professionals' network. To send the request to the admins, open this link and "
        "confirm:\n\n{link}\n\nWithout confirmation within {hours} hours, the request is "
        "erased. If you did not ask, ignore this message.\n",
    },
    "vetting.status.unconfirmed": {"fr": "adresse à confirmer", "en": "address unconfirmed"},
    "vetting.status.expired": {"fr": "expirée", "en": "expired"},
    "web.status.cancelled": {
        "fr": "Cette demande a été annulée.",
        "en": "This request was cancelled.",
    },
    "web.status.preparing": {
        "fr": "Votre demande est acceptée ; votre code d'inscription est en préparation. "
        "Rechargez la page dans un instant.",
        "en": "Your request is approved; your registration code is being prepared. Reload "
        "the page in a moment.",
    },
    "web.status.approved": {
        "fr": "Votre demande est acceptée. Bienvenue !",
        "en": "Your request is approved. Welcome!",
    },
    "web.status.token": {
        "fr": "Votre code d'inscription (valable une fois, 14 jours) :",
        "en": "Your registration code (single use, 14 days):",
    },
    "web.status.homeserver": {"fr": "Serveur :", "en": "Server:"},
    "web.status.step1": {
        "fr": "Installez Element (element.io) ou ouvrez-le dans votre navigateur.",
        "en": "Install Element (element.io) or open it in your browser.",
    },
    "web.status.step2": {
        "fr": "Choisissez « Créer un compte », puis « Modifier » le serveur et saisissez "
        "{homeserver}.",
        "en": "Choose 'Create account', then 'Edit' the server and enter {homeserver}.",
    },
    "web.status.step3": {
        "fr": "Choisissez un nom d'utilisateur et un mot de passe, puis saisissez le code "
        "ci-dessus quand il est demandé.",
        "en": "Choose a username and a password, then enter the code above when asked.",
    },
    "web.status.step4": {
        "fr": "Votre compte est rattaché à votre demande : vous êtes invité·e dans les "
        "espaces et salons de votre territoire.",
        "en": "Your account is linked to your request: you are invited to your territory's "
        "spaces and rooms.",
    },
    "web.status.linked": {
        "fr": "Votre compte {user} est créé et rattaché à votre demande. Ouvrez Element : "
        "vos invitations vous attendent.",
        "en": "Your account {user} is created and linked to your request. Open Element: "
        "your invitations are waiting.",
    },
    "web.error.title": {"fr": "Demande non traitée", "en": "Request not handled"},
    "web.error.csrf": {
        "fr": "Le formulaire a expiré ou ne vient pas de cette page. Rouvrez le formulaire et "
        "envoyez-le à nouveau.",
        "en": "The form has expired or did not come from this page. Open the form again and "
        "resend it.",
    },
    "web.error.too_many": {
        "fr": "Trop de demandes depuis cette adresse. Réessayez dans une heure.",
        "en": "Too many requests from this address. Try again in an hour.",
    },
    "web.error.too_big": {
        "fr": "Le formulaire envoyé est trop volumineux.",
        "en": "The form sent is too large.",
    },
    "web.error.unknown_status": {
        "fr": "Ce lien ne correspond à aucune demande. Vérifiez l'adresse complète.",
        "en": "This link matches no request. Check the full address.",
    },
    # news, feeds, alerts
    "hook.fields": {
        "fr": "Champs attendus : territory (texte), text (texte), et public (booléen) ou "
        "level (info, warning, critical).",
        "en": "Expected fields: territory (string), text (string), and public (boolean) or "
        "level (info, warning, critical).",
    },
    "hook.replayed": {
        "fr": "Signature déjà utilisée (rejeu).",
        "en": "Signature already used (replay).",
    },
    "web.news.title": {"fr": "Actualités — {name}", "en": "News — {name}"},
    "web.news.empty": {
        "fr": "Aucune actualité publique pour l'instant.",
        "en": "No public news yet.",
    },
    "cmd.feed.help": {
        "fr": "Flux RSS/Atom/JSON relayés dans les salons d'annonces",
        "en": "RSS/Atom/JSON feeds relayed into the announcement rooms",
    },
    "cmd.feeds.help": {
        "fr": "Les flux suivis : dernier relevé, dernière erreur, prochain essai",
        "en": "The feeds followed: last fetch, last error, next try",
    },
    "cmd.news.help": {
        "fr": "Publier une actualité dans les salons d'annonces d'un territoire et de ceux en "
        "dessous (all : partout ; --public : aussi sur la page publique)",
        "en": "Post news into the announcement rooms of a territory and those below it (all: "
        "everywhere; --public: on the public page too)",
    },
    "cmd.alert.help": {
        "fr": "Alertes sanitaires : envoyer, suivre les accusés de lecture",
        "en": "Sanitary alerts: send, follow the acknowledgements",
    },
    "cmd.ack.help": {"fr": "Accuser réception d'une alerte", "en": "Acknowledge an alert"},
    "cmd.annuaire.help": {
        "fr": "Annuaire inter-régional : rechercher, s'inscrire, se retirer",
        "en": "Cross-region directory: search, be listed, leave it",
    },
    "meta.directory_query": {
        "fr": "recherche|inscription|retrait",
        "en": "query|join|withdraw",
    },
    "directory.name": {"fr": "Agora · Annuaire", "en": "Agora · Directory"},
    "directory.topic": {
        "fr": "Annuaire inter-régional : les membres qui ont accepté d'y figurer (nom, "
        "profession, territoires). Écrit par le bot seul.",
        "en": "Cross-region directory: members who agreed to be listed (name, profession, "
        "territories). Written by the bot only.",
    },
    "vetting.applicant.directory": {
        "fr": "Pour que vos confrères des autres régions vous trouvent, vous pouvez figurer dans "
        "l'annuaire inter-régional (nom, profession, territoires) : {prefix}annuaire inscription",
        "en": "So that colleagues in other regions can find you, you may be listed in the "
        "cross-region directory (name, profession, territories): {prefix}directory join",
    },
    "directory.members_only": {
        "fr": "L'annuaire est réservé aux membres vérifiés du réseau.",
        "en": "The directory is for the network's verified members only.",
    },
    "directory.published": {
        "fr": "Vous figurez dans l'annuaire inter-régional : {name}, {profession}, {territories}. "
        "Ni votre courriel ni vos identifiants professionnels n'y sont publiés. "
        "Pour en sortir à tout moment : {prefix}annuaire retrait",
        "en": "You are listed in the cross-region directory: {name}, {profession}, "
        "{territories}. Neither your email nor your professional identifiers are published. "
        "To leave it at any time: {prefix}directory withdraw",
    },
    "directory.withdrawn": {
        "fr": "Votre fiche a été retirée de l'annuaire, dans toutes les régions.",
        "en": "Your entry was removed from the directory, in every region.",
    },
    "directory.not_listed": {
        "fr": "Vous ne figurez pas dans l'annuaire (pour y figurer : {prefix}annuaire "
        "inscription).",
        "en": "You are not listed in the directory (to be listed: {prefix}directory join).",
    },
    "directory.usage": {
        "fr": "Indiquez une recherche d'au moins {n} caractères (nom, profession, territoire), "
        "ou « inscription » / « retrait ». Exemple : {prefix}annuaire sage-femme Hérault",
        "en": "Give a query of at least {n} characters (name, profession, territory), or "
        "'join' / 'withdraw'. Example: {prefix}directory midwife Herault",
    },
    "directory.found": {
        "fr": "{n} fiche(s) pour « {query} » :",
        "en": "{n} entr(y/ies) for '{query}':",
    },
    "directory.none": {
        "fr": "Aucune fiche pour « {query} ».",
        "en": "No entry for '{query}'.",
    },
    "directory.line": {
        "fr": "• {name} — {profession} — {territories} ({region}) : {user}",
        "en": "• {name} — {profession} — {territories} ({region}): {user}",
    },
    "directory.unreachable": {
        "fr": "Annuaire(s) non joignable(s) pour l'instant : {regions}",
        "en": "Directory(ies) not reachable right now: {regions}",
    },
    "meta.news_target": {"fr": "territoire|all", "en": "territory|all"},
    "meta.alert": {"fr": "alerte", "en": "alert"},
    "error.option_value": {
        "fr": "{option} attend une valeur.\nUsage : {usage}",
        "en": "{option} needs a value.\nUsage: {usage}",
    },
    "news.unknown_territory": {
        "fr": "Territoire inconnu « {target} ». Choix : {choices}",
        "en": "Unknown territory '{target}'. Choices: {choices}",
    },
    "news.not_yours": {
        "fr": "Vous ne pouvez pas publier ni gérer de flux pour « {target} ».",
        "en": "You may not post or manage feeds for '{target}'.",
    },
    "news.no_rooms": {
        "fr": "« {target} » n'a pas encore de salon où publier.",
        "en": "'{target}' has no room to post into yet.",
    },
    "news.empty": {"fr": "Le texte est vide.", "en": "The text is empty."},
    "news.too_long": {
        "fr": "Le texte dépasse {limit} caractères.",
        "en": "The text is over {limit} characters.",
    },
    "news.control_chars": {
        "fr": "Le texte contient des caractères de contrôle.",
        "en": "The text contains control characters.",
    },
    "news.title": {"fr": "Actualité n° {id}", "en": "News no. {id}"},
    "news.posted": {
        "fr": "Actualité n° {id} publiée dans {n} salon(s).",
        "en": "News no. {id} posted into {n} room(s).",
    },
    "alert.level": {
        "fr": "Niveau inconnu « {level} » : {levels}",
        "en": "Unknown level '{level}': {levels}",
    },
    "alert.title.info": {"fr": "🔵 Information #{id}", "en": "🔵 Information #{id}"},
    "alert.title.warning": {"fr": "🟠 Alerte #{id} — vigilance", "en": "🟠 Alert #{id} — warning"},
    "alert.title.critical": {"fr": "🔴 ALERTE #{id} — critique", "en": "🔴 ALERT #{id} — critical"},
    "alert.footer": {
        "fr": "Accusez réception : réagissez ✅ à ce message ou tapez {prefix}ack {id}",
        "en": "Acknowledge: react ✅ to this message or type {prefix}ack {id}",
    },
    "alert.posted": {
        "fr": "Alerte #{id} diffusée dans {n} salon(s).",
        "en": "Alert #{id} sent into {n} room(s).",
    },
    "alert.unknown": {"fr": "Aucune alerte #{id}.", "en": "No alert #{id}."},
    "alert.acked": {
        "fr": "Réception de l'alerte #{id} enregistrée. Merci.",
        "en": "Alert #{id} acknowledged. Thank you.",
    },
    "alert.acked_before": {
        "fr": "Vous aviez déjà accusé réception de l'alerte #{id}.",
        "en": "You had already acknowledged alert #{id}.",
    },
    "alert.status.title": {
        "fr": "Alerte #{id} ({level}) — accusés de réception :",
        "en": "Alert #{id} ({level}) — acknowledgements:",
    },
    "alert.status.line": {
        "fr": "• {territory} : {n}/{of}",
        "en": "• {territory}: {n}/{of}",
    },
    "alert.status.missing": {"fr": "pas encore : {who}", "en": "not yet: {who}"},
    "alert.status.total": {"fr": "Total : {n}/{of}", "en": "Total: {n}/{of}"},
    "alert.reminder": {
        "fr": "Rappel — alerte #{id} sans accusé de réception de votre part :\n{text}\n"
        "Tapez {prefix}ack {id} pour en accuser réception.",
        "en": "Reminder — alert #{id}, not acknowledged by you yet:\n{text}\n"
        "Type {prefix}ack {id} to acknowledge it.",
    },
    "feed.bad_url": {
        "fr": "« {url} » n'est pas une adresse http(s).",
        "en": "'{url}' is not an http(s) address.",
    },
    "feed.too_often": {
        "fr": "Un flux est relevé au plus toutes les {seconds} s.",
        "en": "A feed is fetched at most every {seconds} s.",
    },
    "feed.which_target": {
        "fr": "Précisez le territoire ou le salon : {choices}",
        "en": "Say which territory or room: {choices}",
    },
    "feed.unknown_target": {
        "fr": "« {target} » n'est ni un territoire ni un salon déclaré.",
        "en": "'{target}' is neither a declared territory nor a room.",
    },
    "feed.unknown": {"fr": "Aucun flux n° {id}.", "en": "No feed no. {id}."},
    "feed.from_config": {
        "fr": "Le flux n° {id} vient de la configuration : retirez-le du fichier.",
        "en": "Feed no. {id} comes from the configuration: remove it from the file.",
    },
    "feed.added": {
        "fr": "Flux n° {id} suivi ({url} → {target}, toutes les {minutes} min). Au plus {n} "
        "entrées récentes seront publiées maintenant.",
        "en": "Feed no. {id} followed ({url} → {target}, every {minutes} min). At most {n} "
        "recent entries are posted now.",
    },
    "feed.removed": {
        "fr": "Flux n° {id} ({url}) n'est plus suivi.",
        "en": "Feed no. {id} ({url}) is no longer followed.",
    },
    "feed.none": {
        "fr": "Aucun flux suivi. Ajoutez-en : {prefix}feed add <url>",
        "en": "No feed followed. Add one: {prefix}feed add <url>",
    },
    "feed.list_title": {"fr": "{n} flux :", "en": "{n} feed(s):"},
    "feed.line": {
        "fr": "#{id} {url} → {target} ({origin}), toutes les {every} min ; relevé {last} ; "
        "erreur : {error} ({errors}) ; prochain {next}",
        "en": "#{id} {url} → {target} ({origin}), every {every} min; fetched {last}; error: "
        "{error} ({errors}); next {next}",
    },
    "feed.refused_url": {
        "fr": "Flux refusé : {url} — {why}.",
        "en": "Feed refused: {url} — {why}.",
    },
    "feed.error.scheme": {"fr": "adresse non http(s)", "en": "not an http(s) address"},
    "feed.error.refused_address": {
        "fr": "adresse refusée (réseau privé ou local)",
        "en": "refused address (private or local network)",
    },
    "feed.error.unreachable": {"fr": "injoignable", "en": "unreachable"},
    "feed.error.timeout": {
        "fr": "pas de réponse en {seconds} s",
        "en": "no answer within {seconds} s",
    },
    "feed.error.redirects": {
        "fr": "plus de {n} redirections",
        "en": "more than {n} redirects",
    },
    "feed.error.http": {"fr": "HTTP {status}", "en": "HTTP {status}"},
    "feed.error.too_large": {
        "fr": "trop volumineux (plus de {n} octets)",
        "en": "too large (over {n} bytes)",
    },
    "feed.error.not_a_feed": {
        "fr": "ce n'est pas un flux RSS, Atom ou JSON Feed",
        "en": "not an RSS, Atom or JSON Feed",
    },
    "feed.error.parse_timeout": {
        "fr": "lecture trop longue (plus de {seconds} s)",
        "en": "took too long to read (over {seconds} s)",
    },
    "feed.error.parse_failed": {"fr": "illisible", "en": "unreadable"},
    "feed.failing": {
        "fr": "Le flux n° {id} ({url}) est en échec : {error}. Nouvel essai dans {minutes} min "
        "(de plus en plus espacés).",
        "en": "Feed no. {id} ({url}) is failing: {error}. Next try in {minutes} min (further "
        "apart each time).",
    },
    "feed.recovered": {
        "fr": "Le flux n° {id} ({url}) fonctionne de nouveau.",
        "en": "Feed no. {id} ({url}) works again.",
    },
    # animators
    "cmd.admit.help": {
        "fr": "Admettre un membre vérifié dans votre territoire ; pour une personne non "
        "vérifiée, déposer une demande appuyée par vous (champs comme !join)",
        "en": "Admit a verified member into your territory; for someone not verified, file a "
        "request you endorse (fields as in !join)",
    },
    "cmd.remove.help": {
        "fr": "Retirer quelqu'un des espaces et salons de votre territoire",
        "en": "Remove someone from your territory's spaces and rooms",
    },
    "cmd.group.help": {
        "fr": "Groupes de travail : create, invite, list, members, remove, leave, archive",
        "en": "Working groups: create, invite, list, members, remove, leave, archive",
    },
    "cmd.group.create.help": {
        "fr": "Créer un groupe de travail chiffré sous l'espace du territoire (--open : ouvert "
        "aux membres du territoire ; --private : sur liste)",
        "en": "Make an encrypted working group under the territory's space (--open: open to "
        "the territory's members; --private: on a list)",
    },
    "cmd.group.invite.help": {
        "fr": "Inviter un membre vérifié dans un groupe (l'ajoute à sa liste)",
        "en": "Invite a verified member to a group (puts them on its list)",
    },
    "cmd.group.list.help": {
        "fr": "Les groupes que vous animez, dont vous êtes, ou ouverts dans votre territoire",
        "en": "The groups you animate, belong to, or that are open in your territory",
    },
    "cmd.group.members.help": {
        "fr": "La liste d'un groupe et qui est dans son salon",
        "en": "A group's list and who is in its room",
    },
    "cmd.group.remove.help": {
        "fr": "Retirer quelqu'un de la liste et du salon d'un groupe",
        "en": "Take someone off a group's list and out of its room",
    },
    "cmd.group.leave.help": {
        "fr": "Quitter un groupe (vous retire de sa liste et de son salon)",
        "en": "Leave a group (takes you off its list and out of its room)",
    },
    "cmd.group.archive.help": {
        "fr": "Archiver un groupe : salon en lecture seule, historique gardé (--dry-run : "
        "montrer ce qui serait fait)",
        "en": "Archive a group: room read-only, history kept (--dry-run: show what would be done)",
    },
    "cmd.team.help": {
        "fr": "L'équipe d'un salon de direction : add, remove, list (pour son responsable)",
        "en": "A managerial room's team: add, remove, list (for its manager)",
    },
    "cmd.team.add.help": {
        "fr": "Ajouter un membre vérifié à l'équipe de votre salon de direction",
        "en": "Add a verified member to your managerial room's team",
    },
    "cmd.team.remove.help": {
        "fr": "Retirer quelqu'un de l'équipe (et du salon)",
        "en": "Take someone off the team (and out of the room)",
    },
    "cmd.team.list.help": {"fr": "L'équipe de votre salon de direction", "en": "Your team"},
    "meta.admit_fields": {"fr": "territoire] [champs…", "en": "territory] [fields…"},
    "meta.group": {"fr": "groupe", "en": "group"},
    "meta.group_name": {"fr": "nom", "en": "name"},
    "meta.room": {"fr": "salon", "en": "room"},
    "animate.field_not_yours": {
        "fr": "territoire : « {value} » n'est pas un territoire que vous animez (les vôtres : "
        "{choices}).",
        "en": "territory: '{value}' is not a territory you animate (yours: {choices}).",
    },
    "animate.two_territories": {
        "fr": "Deux territoires différents : {first} et territoire={second}. Donnez-en un seul.",
        "en": "Two different territories: {first} and territory={second}. Give only one.",
    },
    "animate.not_yours": {
        "fr": "Vous n'animez pas « {territory} ».",
        "en": "You do not animate '{territory}'.",
    },
    "animate.which_territory": {
        "fr": "Précisez le territoire : {choices}",
        "en": "Say which territory: {choices}",
    },
    "animate.not_vetted": {
        "fr": "{user} n'est pas membre vérifié·e. Pour déposer une demande en son nom, "
        'ajoutez ses informations : {prefix}admit {user} nom="…" profession=… rpps=… '
        "email=…",
        "en": "{user} is not a verified member. To file a request for them, add their "
        'details: {prefix}admit {user} name="…" profession=… rpps=… email=…',
    },
    "animate.admitted": {
        "fr": "{user} est admis·e dans « {territory} ».",
        "en": "{user} is admitted into '{territory}'.",
    },
    "animate.admitted_told": {
        "fr": "{who} vous a ouvert l'espace « {territory} ». Vos espaces et salons :\n{rooms}",
        "en": "{who} opened the space '{territory}' to you. Your spaces and rooms:\n{rooms}",
    },
    "animate.endorsed": {
        "fr": "Demande #{id} déposée pour {user}, appuyée par vous (votre appui figure sur la "
        "fiche ; {n}/{required} validation(s)). Les administrateurs décident.",
        "en": "Request #{id} filed for {user}, endorsed by you (your endorsement is on the "
        "card; {n}/{required} approval(s)). The admins decide.",
    },
    "animate.staff": {
        "fr": "{user} est administrateur·rice, animateur·rice ou responsable ici : pas de "
        "retrait par cette commande.",
        "en": "{user} is an admin, animator or manager here: not removed by this command.",
    },
    "animate.removed": {
        "fr": "{user} est retiré·e de « {territory} » ({n} espace(s) ou salon(s)).",
        "en": "{user} is removed from '{territory}' ({n} space(s) or room(s)).",
    },
    "animate.kick_reason": {
        "fr": "Retiré·e de « {territory} » par l'animation",
        "en": "Removed from '{territory}' by its animator",
    },
    "group.visibility": {
        "fr": "Choisissez --open (ouvert aux membres du territoire) ou --private (sur invitation).",
        "en": "Choose --open (open to the territory's members) or --private (invite only).",
    },
    "group.bad_name": {
        "fr": "Le nom du groupe doit faire de 1 à {limit} caractères, sans caractère de contrôle.",
        "en": "A group's name must be 1 to {limit} characters, with no control characters.",
    },
    "group.exists": {
        "fr": "Un groupe « {name} » existe déjà dans ce territoire.",
        "en": "A group '{name}' already exists in this territory.",
    },
    "group.too_many": {
        "fr": "Ce territoire a déjà {n} groupes : demandez aux administrateurs.",
        "en": "This territory already has {n} groups: ask the admins.",
    },
    "group.created_open": {
        "fr": "Groupe « {name} » créé ({group}), ouvert aux membres du territoire. Invitez : "
        "{prefix}group invite {group} @personne",
        "en": "Group '{name}' created ({group}), open to the territory's members. Invite: "
        "{prefix}group invite {group} @person",
    },
    "group.created_private": {
        "fr": "Groupe privé « {name} » créé ({group}). Invitez : {prefix}group invite {group} "
        "@personne",
        "en": "Private group '{name}' created ({group}). Invite: {prefix}group invite {group} "
        "@person",
    },
    "group.unknown": {
        "fr": "Aucun groupe « {ref} ». Groupes : {known}",
        "en": "No group '{ref}'. Groups: {known}",
    },
    "group.ambiguous": {
        "fr": "« {ref} » désigne plusieurs groupes : {keys}",
        "en": "'{ref}' names several groups: {keys}",
    },
    "group.not_vetted": {
        "fr": "{user} n'est pas membre vérifié·e : seuls les membres vérifiés entrent dans "
        "un groupe.",
        "en": "{user} is not a verified member: only verified members join a group.",
    },
    "group.not_made": {
        "fr": "Le salon du groupe « {name} » n'est pas encore créé ; réessayez dans un instant.",
        "en": "The room of group '{name}' is not made yet; try again in a moment.",
    },
    "group.invited": {
        "fr": "{user} est invité·e dans le groupe « {name} ».",
        "en": "{user} is invited to the group '{name}'.",
    },
    "group.not_keeper": {
        "fr": "« {name} » est un groupe privé : seuls {keeper}, qui l'anime, et les "
        "administrateurs gèrent sa liste.",
        "en": "'{name}' is a private group: only {keeper}, who animates it, and the admins "
        "manage its list.",
    },
    "group.none": {"fr": "Aucun groupe pour vous.", "en": "No group for you."},
    "group.list_title": {"fr": "{n} groupe(s) :", "en": "{n} group(s):"},
    "group.list_line": {
        "fr": "• {name} ({group}) — {visibility}, animé par {keeper}{mine}",
        "en": "• {name} ({group}) — {visibility}, animated by {keeper}{mine}",
    },
    "group.visibility.open": {"fr": "ouvert", "en": "open"},
    "group.visibility.private": {"fr": "privé", "en": "private"},
    "group.on_list": {"fr": " — vous en êtes", "en": " — you are on it"},
    "group.members": {
        "fr": "Groupe « {name} » (animé par {keeper})\nListe : {listed}\nDans le salon : {inside}",
        "en": "Group '{name}' (animated by {keeper})\nList: {listed}\nIn the room: {inside}",
    },
    "group.removed": {
        "fr": "{user} est retiré·e du groupe « {name} ».",
        "en": "{user} is taken off the group '{name}'.",
    },
    "group.kick_reason": {"fr": "Retiré·e du groupe « {name} »", "en": "Taken off '{name}'"},
    "group.left_reason": {"fr": "A quitté le groupe", "en": "Left the group"},
    "group.left": {"fr": "Vous avez quitté « {name} ».", "en": "You left '{name}'."},
    "group.not_in": {"fr": "Vous n'êtes pas dans « {name} ».", "en": "You are not in '{name}'."},
    "group.archive_plan": {
        "fr": "Archiverait « {name} » ({group}) : retiré de l'espace, renommé [Archivé], en "
        "lecture seule, historique gardé. Rien n'est fait (--dry-run).",
        "en": "Would archive '{name}' ({group}): out of the space, renamed [Archived], "
        "read-only, history kept. Nothing done (--dry-run).",
    },
    "group.archived": {
        "fr": "Groupe « {name} » archivé (lecture seule, historique gardé).",
        "en": "Group '{name}' archived (read-only, history kept).",
    },
    "team.not_manager": {
        "fr": "Vous ne gérez aucun salon de direction.",
        "en": "You manage no managerial room.",
    },
    "team.which_room": {
        "fr": "Quel salon de direction ? {choices}",
        "en": "Which managerial room? {choices}",
    },
    "team.added": {
        "fr": "{user} fait partie de l'équipe de « {name} » (invitation envoyée).",
        "en": "{user} is on the team of '{name}' (invitation sent).",
    },
    "team.removed": {
        "fr": "{user} ne fait plus partie de l'équipe de « {name} ».",
        "en": "{user} is no longer on the team of '{name}'.",
    },
    "team.kick_reason": {"fr": "Retiré·e de l'équipe de « {name} »", "en": "Off '{name}'"},
    "team.list": {"fr": "Équipe de « {name} » : {people}", "en": "Team of '{name}': {people}"},
    # moderation: the policy room and revocation
    "policy.name": {"fr": "Agora · Liste de modération", "en": "Agora · Moderation list"},
    "policy.topic": {
        "fr": "Règles de bannissement publiées par la région (m.policy.rule.*).",
        "en": "Ban rules published by the region (m.policy.rule.*).",
    },
    "cmd.policy.help": {
        "fr": "Liste de bannissement de la région (et celles des régions de confiance)",
        "en": "The region's ban list (and the trusted regions' lists)",
    },
    "policy.empty": {"fr": "La liste de la région est vide.", "en": "The region's list is empty."},
    "policy.list_title": {"fr": "{n} règle(s) :", "en": "{n} rule(s):"},
    "policy.ban_usage": {
        "fr": "Usage : {prefix}policy ban <@utilisateur:serveur|serveur> <motif> (globs * et ? "
        "permis)",
        "en": "Usage: {prefix}policy ban <@user:server|server> <reason> (* and ? globs allowed)",
    },
    "policy.own_server": {
        "fr": "Refusé : cette règle viserait le serveur de la région ({server}) et couperait "
        "toute la région.",
        "en": "Refused: this rule would strike the region's own server ({server}) and cut the "
        "whole region off.",
    },
    "policy.protected": {
        "fr": "Refusé : {user} est protégé (le bot, les administrateurs et les bots des régions "
        "partenaires ne sont jamais bannis).",
        "en": "Refused: {user} is protected (the bot, the admins and the peer regions' bots are "
        "never banned).",
    },
    "policy.ban_held": {
        "fr": "Rien n'est publié pour l'instant. La règle contre {entity} retirerait {count} "
        "personne(s) : {people}\nPour la publier : {prefix}confirm {n} — pour y renoncer : "
        "{prefix}cancel {n}",
        "en": "Nothing is published yet. The rule against {entity} would remove {count} "
        "person(s): {people}\nTo publish it: {prefix}confirm {n} — to drop it: "
        "{prefix}cancel {n}",
    },
    "policy.held.large": {
        "fr": "⏸️ Règle en attente n° {n} : {kind} {entity} (de {sender}, motif : {reason}) "
        "retirerait {count} personne(s) de la région : {people}\nRien n'est fait tant qu'un "
        "administrateur n'a pas répondu {prefix}confirm {n} (ou {prefix}cancel {n}).",
        "en": "⏸️ Held rule no. {n}: {kind} {entity} (from {sender}, reason: {reason}) would "
        "remove {count} person(s) from the region: {people}\nNothing happens until an admin "
        "answers {prefix}confirm {n} (or {prefix}cancel {n}).",
    },
    "policy.held.hand": {
        "fr": "⏸️ Règle en attente n° {n} : {kind} {entity}, posée à la main par {sender} dans "
        "la liste de la région (motif : {reason}) ; elle retirerait {count} personne(s) : "
        "{people}\nElle ne compte qu'après {prefix}confirm {n} (ou {prefix}cancel {n}).",
        "en": "⏸️ Held rule no. {n}: {kind} {entity}, set by hand by {sender} in the region's "
        "list (reason: {reason}); it would remove {count} person(s): {people}\nIt counts only "
        "after {prefix}confirm {n} (or {prefix}cancel {n}).",
    },
    "policy.held.glob": {
        "fr": "⏸️ Règle en attente n° {n} : {kind} {entity} (de {sender}, motif : {reason}) est un "
        "motif (glob) d'une région partenaire : elle retirerait aujourd'hui {count} personne(s) "
        "({people}) et pourrait en viser d'autres demain.\nElle ne compte qu'après "
        "{prefix}confirm {n} (ou {prefix}cancel {n}).",
        "en": "⏸️ Held rule no. {n}: {kind} {entity} (from {sender}, reason: {reason}) is a "
        "peer region's pattern (glob): it would remove {count} person(s) today ({people}) and "
        "could match others tomorrow.\nIt counts only after {prefix}confirm {n} (or "
        "{prefix}cancel {n}).",
    },
    "policy.held.many": {
        "fr": "⏸️ Règle en attente n° {n} : {kind} {entity} (de {sender}, motif : {reason}) "
        "retirerait {count} personne(s) ({people}) ; avec les règles de cette liste appliquées "
        "dans l'heure, cela dépasse le seuil fixé.\nRien n'est fait tant qu'un administrateur "
        "n'a pas répondu {prefix}confirm {n} (ou {prefix}cancel {n}).",
        "en": "⏸️ Held rule no. {n}: {kind} {entity} (from {sender}, reason: {reason}) would "
        "remove {count} person(s) ({people}); with this list's rules applied within the hour, "
        "that is over the limit.\nNothing happens until an admin answers {prefix}confirm {n} "
        "(or {prefix}cancel {n}).",
    },
    "policy.held.withdraw": {
        "fr": "⏸️ Levée en attente n° {n} : {sender} a retiré à la main la règle {kind} "
        "{entity} (motif : {reason}) de la liste de la région. Elle reste en vigueur ici et "
        "chez les régions partenaires tant qu'un administrateur n'a pas répondu {prefix}confirm "
        "{n} (ou {prefix}cancel {n}, qui la republie).",
        "en": "⏸️ Held withdrawal no. {n}: {sender} withdrew the rule {kind} {entity} (reason: "
        "{reason}) from the region's list by hand. It stays in force here and in the peer "
        "regions until an admin answers {prefix}confirm {n} (or {prefix}cancel {n}, which "
        "publishes it again).",
    },
    "trust.pinned_notice": {
        "fr": "Identité de signature croisée de {user} enregistrée : {fingerprint}\nComparez-la "
        "avec {user} (Element : Paramètres › Sécurité) ; seules ses sessions signées par elle "
        "comptent désormais.",
        "en": "Cross-signing identity of {user} recorded: {fingerprint}\nCompare it with "
        "{user} (Element: Settings › Security); only their sessions signed by it count from "
        "now on.",
    },
    "trust.not_this_one": {
        "fr": "Refusé : la nouvelle identité de {user} est {fingerprint}, pas {given}.",
        "en": "Refused: the new identity of {user} is {fingerprint}, not {given}.",
    },
    "policy.confirmed": {
        "fr": "Règle n° {n} contre {entity} appliquée ; {removed} retrait(s).",
        "en": "Rule no. {n} against {entity} applied; {removed} removal(s).",
    },
    "policy.cancelled": {
        "fr": "Règle n° {n} contre {entity} écartée : elle ne s'applique pas.",
        "en": "Rule no. {n} against {entity} dropped: it does not apply.",
    },
    "policy.no_hold": {"fr": "Aucune règle en attente n° {n}.", "en": "No held rule no. {n}."},
    "policy.hold_decided": {
        "fr": "La règle en attente n° {n} a déjà été traitée.",
        "en": "Held rule no. {n} was already dealt with.",
    },
    "policy.ignored_sender": {
        "fr": "Règles de la liste {room} posées par {sender} ignorées : seules comptent celles "
        "du bot de cette région ({bot}).",
        "en": "Rules of the list {room} set by {sender} are ignored: only those of that "
        "region's bot ({bot}) count.",
    },
    "policy.refused_own_server": {
        "fr": "Règle refusée : {entity} (de {sender}) viserait le serveur de cette région "
        "({server}). Elle ne s'applique pas.",
        "en": "Rule refused: {entity} (from {sender}) would strike this region's own server "
        "({server}). It does not apply.",
    },
    "policy.spared": {
        "fr": "La règle {entity} ne s'applique pas à {people} (protégés).",
        "en": "The rule {entity} does not apply to {people} (protected).",
    },
    "policy.status.held": {"fr": "en attente", "en": "held"},
    "policy.status.refused": {"fr": "refusée", "en": "refused"},
    "policy.status.cancelled": {"fr": "écartée", "en": "dropped"},
    "policy.status.ignored": {"fr": "ignorée", "en": "ignored"},
    "policy.status.active": {"fr": "en vigueur", "en": "in force"},
    "cmd.confirm.help": {
        "fr": "Appliquer une règle de bannissement en attente (liste de qui serait retiré "
        "montrée avant)",
        "en": "Apply a held ban rule (the list of who would be removed is shown first)",
    },
    "meta.hold": {"fr": "n°", "en": "no."},
    "meta.fingerprint": {"fr": "début de l'empreinte", "en": "fingerprint start"},
    "policy.banned": {
        "fr": "Règle publiée contre {entity} ; {n} retrait(s) dans les salons de la région.",
        "en": "Rule published against {entity}; {n} removal(s) in the region's rooms.",
    },
    "policy.no_rule": {"fr": "Aucune règle contre {entity}.", "en": "No rule against {entity}."},
    "policy.unbanned": {
        "fr": "Règle contre {entity} retirée : le refus est levé (personne n'est réinvité "
        "d'office).",
        "en": "Rule against {entity} withdrawn: the refusal is lifted (nobody is invited back "
        "by itself).",
    },
    "policy.no_trusted": {
        "fr": "Aucune liste de confiance (federation.trusted_policy_rooms).",
        "en": "No trusted list (federation.trusted_policy_rooms).",
    },
    "policy.trusted_title": {"fr": "{n} liste(s) de confiance :", "en": "{n} trusted list(s):"},
    "policy.trusted_line": {
        "fr": "• {ref} — {state}, {n} règle(s), mise à jour {last}",
        "en": "• {ref} — {state}, {n} rule(s), updated {last}",
    },
    "policy.reachable": {"fr": "suivie", "en": "followed"},
    "policy.unreachable": {
        "fr": "injoignable (invitation attendue)",
        "en": "unreachable (waiting for an invitation)",
    },
    "cmd.revoke.help": {
        "fr": "Révoquer un membre : retiré de tous les salons, invitations retirées, règle de "
        "bannissement publiée (--deactivate : compte local désactivé)",
        "en": "Revoke a member: out of every room, invitations withdrawn, ban rule published "
        "(--deactivate: local account deactivated)",
    },
    "revoke.not_admin": {
        "fr": "{user} est administrateur·rice ou le bot : la révocation ne s'applique pas.",
        "en": "{user} is an admin or the bot: revocation does not apply.",
    },
    "revoke.deactivate_remote": {
        "fr": "{user} n'est pas un compte de ce serveur : --deactivate ne s'applique qu'aux "
        "comptes locaux.",
        "en": "{user} is not an account of this server: --deactivate applies to local accounts "
        "only.",
    },
    "revoke.started": {
        "fr": "Révocation de {user} enregistrée ; retrait de tous les salons en cours.",
        "en": "Revocation of {user} recorded; removal from every room under way.",
    },
    "revoke.started_not_member": {
        "fr": "{user} n'était pas membre ; la règle de bannissement est publiée et tout "
        "salon géré où il ou elle se trouve sera quitté.",
        "en": "{user} was not a member; the ban rule is published and they are removed from "
        "any managed room they are in.",
    },
    "revoke.done": {
        "fr": "Révocation de {user} terminée : retiré·e de {n} espace(s) ou salon(s).",
        "en": "Revocation of {user} done: removed from {n} space(s) or room(s).",
    },
    "revoke.done_deactivated": {
        "fr": "Révocation de {user} terminée : retiré·e de {n} espace(s) ou salon(s), compte "
        "désactivé.",
        "en": "Revocation of {user} done: removed from {n} space(s) or room(s), account "
        "deactivated.",
    },
    "revoke.member_told": {
        "fr": "Votre accès au réseau a été révoqué. Motif : {reason}",
        "en": "Your access to the network has been revoked. Reason: {reason}",
    },
    "revoke.kick_reason": {"fr": "Accès révoqué", "en": "Access revoked"},
    "vetting.banned": {
        "fr": "Votre demande ne peut pas être enregistrée. Contactez l'agence régionale de santé.",
        "en": "Your request cannot be recorded. Please contact the regional health agency.",
    },
    # vetting: commands and their answers
    "cmd.join.help": {
        "fr": "Demander à rejoindre le réseau (nom, profession, identifiant, territoire, email)",
        "en": "Ask to join the network (name, profession, identifier, territory, email)",
    },
    "cmd.request.help": {"fr": "Où en est ma demande", "en": "Where my request stands"},
    "cmd.cancel.help": {
        "fr": "Annuler ma demande en attente, ou la conversation en cours",
        "en": "Cancel my pending request, or the conversation in progress",
    },
    "cmd.requests.help": {"fr": "Lister les demandes en attente", "en": "List pending requests"},
    "cmd.approve.help": {"fr": "Valider une demande", "en": "Approve a request"},
    "cmd.reject.help": {
        "fr": "Refuser une demande, avec son motif",
        "en": "Reject a request, with the reason",
    },
    "cmd.info.help": {
        "fr": "Détail d'une demande ou d'une personne",
        "en": "Details of a request or a person",
    },
    "meta.fields": {
        "fr": "nom=… profession=… rpps=… territoire=… email=…",
        "en": "name=… profession=… rpps=… territory=… email=…",
    },
    "meta.note": {"fr": "note", "en": "note"},
    "meta.reason": {"fr": "motif", "en": "reason"},
    "meta.request": {"fr": "demande", "en": "request"},
    "meta.request_or_user": {"fr": "demande|@utilisateur", "en": "request|@user"},
    "arg.request_selection": {
        "fr": "« {value} » n'est ni un numéro de demande (#12), ni une plage (12-340), ni un "
        "lot d'import (import:nom)",
        "en": "'{value}' is neither a request number (#12), a range (12-340) nor an import "
        "batch (import:name)",
    },
    "meta.request_selection": {
        "fr": "demande|plage|import:lot",
        "en": "request|range|import:batch",
    },
    "bulk.progress": {
        "fr": "Validation en masse : {done}/{total}…",
        "en": "Bulk approval: {done}/{total}…",
    },
    "bulk.none": {
        "fr": "Aucune demande en attente dans {what}.",
        "en": "No pending request in {what}.",
    },
    "bulk.done": {
        "fr": "Validation en masse terminée : {total} demande(s) examinée(s), {approved} "
        "acceptée(s) (quorum atteint), {waiting} en attente d'une autre validation, {skipped} "
        "ignorée(s).",
        "en": "Bulk approval done: {total} request(s) looked at, {approved} approved (quorum "
        "reached), {waiting} waiting for another approval, {skipped} skipped.",
    },
    "bulk.skipped": {"fr": "Ignorées : {list}", "en": "Skipped: {list}"},
    "import.unknown_columns": {
        "fr": "colonnes inconnues : {columns}",
        "en": "unknown columns: {columns}",
    },
    "import.bad_matrix_id": {
        "fr": "matrix_id : « {value} » n'est pas un identifiant Matrix (@nom:serveur)",
        "en": "matrix_id: '{value}' is not a Matrix id (@name:server)",
    },
    "import.repeated": {
        "fr": "{field} : déjà à la ligne {line}",
        "en": "{field}: already on line {line}",
    },
    "import.duplicate": {
        "fr": "déjà membre ou en attente : {list}",
        "en": "already a member or pending: {list}",
    },
    "import.batch_exists": {
        "fr": "Le lot « {batch} » a déjà été importé : choisissez un autre nom (--batch).",
        "en": "Batch '{batch}' was imported already: choose another name (--batch).",
    },
    "import.too_many": {
        "fr": "Plus de {n} lignes : découpez le fichier.",
        "en": "More than {n} rows: split the file.",
    },
    "import.notice": {
        "fr": "Import « {batch} » : {n} demande(s) enregistrée(s) (#{first} à #{last}), "
        "{rejected} ligne(s) refusée(s). Pour les valider : {prefix}approve import:{batch}",
        "en": "Import '{batch}': {n} request(s) recorded (#{first} to #{last}), {rejected} "
        "row(s) refused. To approve them: {prefix}approve import:{batch}",
    },
    "arg.request_id": {
        "fr": "« {value} » n'est pas un numéro de demande (ex. #12)",
        "en": "'{value}' is not a request number (e.g. #12)",
    },
    "vetting.join.howto": {
        "fr": "Vous pouvez aussi tout donner en une ligne :\n"
        '{prefix}join nom="Corinne Durand" profession=infirmier rpps=10101234564 '
        'territoire=vaucluse structure="Cabinet des Lices" email=c.durand@example.org\n'
        "Professions : medecin, infirmier, pharmacien, masseur-kinesitherapeute, sage-femme, "
        "psychomotricien, chirurgien-dentiste, representant-usagers, agent-ars.",
        "en": "You can also give everything on one line:\n"
        '{prefix}join name="Corinne Durand" profession=infirmier rpps=10101234564 '
        'territory=vaucluse structure="Cabinet des Lices" email=c.durand@example.org\n'
        "Professions: medecin, infirmier, pharmacien, masseur-kinesitherapeute, sage-femme, "
        "psychomotricien, chirurgien-dentiste, representant-usagers, agent-ars.",
    },
    "vetting.refused": {"fr": "Demande non enregistrée :", "en": "Request not recorded:"},
    "vetting.submitted": {
        "fr": "Demande #{id} enregistrée. Elle doit être validée par {required} administrateurs ; "
        "vous serez prévenu·e ici.",
        "en": "Request #{id} recorded. It needs the approval of {required} administrators; "
        "you will be told here.",
    },
    "vetting.already_member": {
        "fr": "Vous êtes déjà membre du réseau.",
        "en": "You are already a member of the network.",
    },
    "vetting.already_pending": {
        "fr": "Vous avez déjà une demande en attente (tapez !request).",
        "en": "You already have a pending request (type !request).",
    },
    "vetting.no_pending": {
        "fr": "Aucune demande en attente à annuler.",
        "en": "No pending request to cancel.",
    },
    "vetting.none_yet": {
        "fr": "Aucune demande pour l'instant ({prefix}join pour en faire une).",
        "en": "No request yet ({prefix}join to make one).",
    },
    "vetting.none_for": {"fr": "Aucune demande pour {who}.", "en": "No request for {who}."},
    "vetting.mine": {"fr": "Demande #{id} : {status}.", "en": "Request #{id}: {status}."},
    "vetting.cancelled": {"fr": "Demande #{id} annulée.", "en": "Request #{id} cancelled."},
    "vetting.unknown_request": {"fr": "Demande #{id} inconnue.", "en": "Unknown request #{id}."},
    "vetting.already_decided": {
        "fr": "La demande #{id} est déjà close ({status}).",
        "en": "Request #{id} is already closed ({status}).",
    },
    "vetting.own_request": {
        "fr": "Vous ne pouvez pas statuer sur une demande que vous avez faite ou qui vous concerne.",
        "en": "You cannot decide on a request you made or that concerns you.",
    },
    "vetting.reason_required": {
        "fr": "Un motif est obligatoire pour refuser.",
        "en": "A reason is required to reject.",
    },
    "vetting.recorded": {
        "fr": "Validation enregistrée pour #{id} ({n}/{required}).",
        "en": "Approval recorded for #{id} ({n}/{required}).",
    },
    "vetting.withdrawn": {
        "fr": "{admin} a retiré sa validation de la demande #{id} ({n}/{required}).",
        "en": "{admin} withdrew their approval of request #{id} ({n}/{required}).",
    },
    "vetting.withdraw_too_late": {
        "fr": "La demande #{id} est déjà close ({status}) : retirer la réaction n'y change "
        "rien. Pour retirer la personne : {prefix}revoke <identifiant>.",
        "en": "Request #{id} is already closed ({status}): removing the reaction changes "
        "nothing. To remove the person: {prefix}revoke <user id>.",
    },
    "vetting.card_reposted": {
        "fr": "La fiche de la demande #{id} a été supprimée ; la voici de nouveau.",
        "en": "The card of request #{id} was removed; here it is again.",
    },
    "vetting.now_approved": {
        "fr": "Demande #{id} acceptée ({n}/{required}) : la personne est invitée.",
        "en": "Request #{id} approved ({n}/{required}): the person is invited.",
    },
    "vetting.now_rejected": {
        "fr": "Demande #{id} refusée : la personne est prévenue.",
        "en": "Request #{id} rejected: the person is told.",
    },
    "vetting.reason_asked": {
        "fr": "{admin} : pour refuser la demande #{id}, donnez le motif : {prefix}reject {id} <motif>",
        "en": "{admin}: to reject request #{id}, give the reason: {prefix}reject {id} <reason>",
    },
    "cmd.members.help": {
        "fr": "Lister les membres vérifiés (d'un territoire et de ses sous-territoires)",
        "en": "List verified members (of a territory and those below it)",
    },
    "meta.territory": {"fr": "territoire", "en": "territory"},
    "members.title": {"fr": "{n} membre(s) :", "en": "{n} member(s):"},
    "members.more": {
        "fr": "… et {n} autre(s) (agora-bot export-members pour la liste complète)",
        "en": "… and {n} more (agora-bot export-members for the full list)",
    },
    "cmd.forget.help": {
        "fr": "Effacer les données personnelles d'une personne refusée ou partie (RGPD)",
        "en": "Erase the personal data of a rejected or departed person (GDPR)",
    },
    "forget.member": {
        "fr": "{user} est membre actif : révoquez-le d'abord.",
        "en": "{user} is an active member: revoke them first.",
    },
    "forget.pending": {
        "fr": "{user} a une demande en attente : statuez d'abord.",
        "en": "{user} has a pending request: decide on it first.",
    },
    "forget.done": {
        "fr": "Données personnelles de {user} effacées ({n} demande(s)) ; "
        "seule une trace minimale reste dans le journal d'audit.",
        "en": "Personal data of {user} erased ({n} request(s)); only a minimal "
        "record stays in the audit log.",
    },
    "vetting.none_pending": {"fr": "Aucune demande en attente.", "en": "No pending request."},
    "vetting.pending_title": {"fr": "{n} demande(s) en attente :", "en": "{n} pending request(s):"},
    "vetting.applicant.approved": {
        "fr": "Bonne nouvelle : votre demande #{id} est acceptée. Bienvenue dans le réseau "
        "« {territory} » : acceptez l'invitation à l'espace, ses salons vous sont ouverts.",
        "en": "Good news: your request #{id} is approved. Welcome to the '{territory}' "
        "network: accept the invitation to the space, its rooms are open to you.",
    },
    "vetting.member_rooms": {
        "fr": "Espaces et salons donnés :\n{rooms}",
        "en": "Spaces and rooms given:\n{rooms}",
    },
    "vetting.applicant.rooms": {
        "fr": "Vos espaces et salons :\n{rooms}",
        "en": "Your spaces and rooms:\n{rooms}",
    },
    "vetting.applicant.rejected": {
        "fr": "Votre demande #{id} a été refusée. Motif : {reason}",
        "en": "Your request #{id} was rejected. Reason: {reason}",
    },
    "vetting.status.pending": {"fr": "en attente", "en": "pending"},
    "vetting.status.approved": {"fr": "acceptée", "en": "approved"},
    "vetting.status.rejected": {"fr": "refusée", "en": "rejected"},
    "vetting.status.cancelled": {"fr": "annulée", "en": "cancelled"},
    "vetting.card.title": {
        "fr": "Demande #{id} — {name} — {status}",
        "en": "Request #{id} — {name} — {status}",
    },
    "vetting.card.fields": {
        "fr": "Profession : {profession} · {identifier}\nTerritoire : {territory}\n"
        "Structure : {structure}\nEmail : {email}\nCompte Matrix : {user}",
        "en": "Profession: {profession} · {identifier}\nTerritory: {territory}\n"
        "Structure: {structure}\nEmail: {email}\nMatrix account: {user}",
    },
    "vetting.card.duplicates": {
        "fr": "⚠ Doublon possible avec : {list}",
        "en": "⚠ Possible duplicate of: {list}",
    },
    "vetting.card.approvals": {
        "fr": "Validations : {n}/{required} ({who})",
        "en": "Approvals: {n}/{required} ({who})",
    },
    "vetting.card.rejections": {"fr": "Refus : {who}", "en": "Rejections: {who}"},
    "vetting.card.endorsed": {
        "fr": "Appuyée par l'animateur·rice : {who} (ne compte pas comme validation)",
        "en": "Endorsed by the animator: {who} (not counted as an approval)",
    },
    "vetting.card.howto": {
        "fr": "{prefix}approve {id} [note] · {prefix}reject {id} <motif>",
        "en": "{prefix}approve {id} [note] · {prefix}reject {id} <reason>",
    },
    "vetting.card.reason": {"fr": "Motif : {reason}", "en": "Reason: {reason}"},
    # vetting: the guided !join conversation
    "dialogue.ask.language": {
        "fr": "Bienvenue ! Je vais vous poser quelques questions pour votre demande d'adhésion. "
        "Répondez « en » for English, ou « fr » pour continuer en français. "
        "(« !cancel » arrête à tout moment.)",
        "en": "Welcome! Reply 'en' for English or 'fr' for French.",
    },
    "dialogue.ask.name": {"fr": "Quel est votre nom complet ?", "en": "What is your full name?"},
    "dialogue.ask.profession": {
        "fr": "Quelle est votre profession ? (numéro ou identifiant)",
        "en": "What is your profession? (number or id)",
    },
    "dialogue.ask.identifier": {"fr": "Votre numéro {kinds} ?", "en": "Your {kinds} number?"},
    "dialogue.ask.structure": {
        "fr": "Votre structure d'exercice (cabinet, établissement…) ? « - » si aucune.",
        "en": "Where do you practise (practice, facility…)? '-' if none.",
    },
    "dialogue.ask.territory": {
        "fr": "Dans quel territoire exercez-vous ? (numéro ou identifiant)",
        "en": "In which territory do you practise? (number or id)",
    },
    "dialogue.ask.email": {
        "fr": "Votre adresse électronique professionnelle ?",
        "en": "Your professional email address?",
    },
    "dialogue.ask.confirm": {
        "fr": "Je récapitule :\n{summary}\nJ'envoie la demande ? (oui / non)",
        "en": "To sum up:\n{summary}\nShall I send the request? (yes / no)",
    },
    "dialogue.again": {
        "fr": "Je n'ai pas pu accepter cette réponse : {problem}",
        "en": "I could not accept that answer: {problem}",
    },
    "dialogue.not_in_list": {"fr": "choisissez dans la liste", "en": "pick one from the list"},
    "dialogue.yes_or_no": {
        "fr": "Répondez « oui » pour envoyer, « non » pour abandonner.",
        "en": "Reply 'yes' to send, 'no' to give up.",
    },
    "dialogue.abandoned": {
        "fr": "Demande abandonnée ; rien n'a été enregistré.",
        "en": "Request abandoned; nothing was recorded.",
    },
    # vetting: join request fields
    "vetting.form.field": {
        "fr": "Champ « {field} » : {problem}",
        "en": "Field '{field}': {problem}",
    },
    "vetting.form.missing": {"fr": "obligatoire", "en": "required"},
    "vetting.form.too_long": {
        "fr": "{limit} caractères au plus",
        "en": "at most {limit} characters",
    },
    "vetting.form.control": {
        "fr": "caractères de contrôle interdits",
        "en": "control characters are not allowed",
    },
    "vetting.form.unknown_profession": {
        "fr": "profession inconnue ; choix possibles : {choices}",
        "en": "unknown profession; one of: {choices}",
    },
    "vetting.form.unknown_territory": {
        "fr": "territoire inconnu ; choix possibles : {choices}",
        "en": "unknown territory; one of: {choices}",
    },
    "vetting.form.email": {"fr": "adresse électronique invalide", "en": "invalid email address"},
    "vetting.rpps.format": {
        "fr": "un numéro RPPS compte 11 chiffres",
        "en": "an RPPS number has 11 digits",
    },
    "vetting.rpps.check_digit": {
        "fr": "numéro RPPS invalide (clé de contrôle incorrecte)",
        "en": "invalid RPPS number (wrong check digit)",
    },
    "vetting.adeli.format": {
        "fr": "un numéro ADELI compte 9 caractères (département puis 7 chiffres)",
        "en": "an ADELI number has 9 characters (department, then 7 digits)",
    },
    "vetting.form.identifier_not_for": {
        "fr": "identifiant non prévu pour la profession {profession}",
        "en": "this identifier is not used for {profession}",
    },
    "vetting.form.identifier_required": {
        "fr": "un identifiant professionnel est obligatoire pour la profession {profession}",
        "en": "a professional identifier is required for {profession}",
    },
    "vetting.form.unknown_key": {
        "fr": "clé inconnue ; clés possibles : {keys}",
        "en": "unknown key; one of: {keys}",
    },
    "vetting.form.repeated": {"fr": "donné deux fois", "en": "given twice"},
    "vetting.form.stray": {
        "fr": "texte non reconnu : « {text} » (attendu : clé=valeur)",
        "en": "unrecognised text: '{text}' (expected key=value)",
    },
    "cmd.reconcile.help": {
        "fr": "Aligner le serveur sur la configuration du réseau (--dry-run : montrer le plan)",
        "en": "Make the homeserver match the network configuration (--dry-run: show the plan)",
    },
    "cmd.reload.help": {
        "fr": "Relire le fichier de configuration puis aligner le réseau",
        "en": "Re-read the configuration file, then reconcile the network",
    },
    # --- agora-bot doctor (the operator's checks of the homeserver); kept together ---------
    "doctor.title": {
        "fr": "Agora doctor : {user} sur {url}",
        "en": "Agora doctor: {user} on {url}",
    },
    "doctor.reachable.ok": {
        "fr": "Serveur joignable : {software}, Matrix jusqu'à v{matrix}",
        "en": "Homeserver reachable: {software}, Matrix up to v{matrix}",
    },
    "doctor.reachable.fail": {
        "fr": "Serveur injoignable à {url} : {error}",
        "en": "Homeserver unreachable at {url}: {error}",
    },
    "doctor.reachable.fix": {
        "fr": "Vérifiez homeserver.url, et que Synapse tourne et écoute à cette adresse.",
        "en": "Check homeserver.url, and that Synapse runs and listens at that address.",
    },
    "doctor.reachable.fix_embedded": {
        "fr": "Le serveur intégré ne tourne qu'avec le bot : lancez agora-bot run, puis "
        "relancez agora-bot doctor.",
        "en": "The embedded homeserver runs only with the bot: start agora-bot run, then run "
        "agora-bot doctor again.",
    },
    "doctor.software.not_synapse": {
        "fr": "Pas d'API d'administration Synapse à {url} (/_synapse/admin/v1/server_version) : "
        "Agora a besoin de Synapse et de son API d'administration.",
        "en": "No Synapse admin API at {url} (/_synapse/admin/v1/server_version): Agora needs "
        "Synapse and its admin API.",
    },
    "doctor.software.fix": {
        "fr": "Faites pointer homeserver.url vers l'écoute de Synapse lui-même (par exemple "
        "http://127.0.0.1:8008), pas vers un mandataire inverse qui masque /_synapse/admin.",
        "en": "Point homeserver.url at Synapse's own listener (for example "
        "http://127.0.0.1:8008), not at a reverse proxy that hides /_synapse/admin.",
    },
    "doctor.software.old": {
        "fr": "Synapse {version} : Agora demande {minimum} ou plus récent.",
        "en": "Synapse {version}: Agora needs {minimum} or newer.",
    },
    "doctor.versions.old": {
        "fr": "Le serveur ne parle que Matrix {versions} : Agora demande v1.2 ou plus récent.",
        "en": "The homeserver speaks only Matrix {versions}: Agora needs v1.2 or newer.",
    },
    "doctor.software.upgrade": {"fr": "Mettez Synapse à jour.", "en": "Upgrade Synapse."},
    "doctor.login.how.session": {
        "fr": "la session enregistrée du bot",
        "en": "the bot's saved session",
    },
    "doctor.login.how.token": {"fr": "le jeton d'accès", "en": "the access token"},
    "doctor.login.how.password": {"fr": "le mot de passe", "en": "the password"},
    "doctor.login.ok": {
        "fr": "Le bot se connecte : {user}, appareil {device} ({how})",
        "en": "The bot logs in: {user}, device {device} ({how})",
    },
    "doctor.login.refused": {
        "fr": "Le serveur refuse la connexion du bot avec {how} : {error}",
        "en": "The homeserver refuses the bot's login with {how}: {error}",
    },
    "doctor.login.fix": {
        "fr": "Vérifiez le mot de passe ou le jeton du bot ; une session révoquée se supprime "
        "({path}) : le bot se connecte alors de nouveau avec son mot de passe.",
        "en": "Check the bot's password or token; a revoked session is deleted ({path}): the "
        "bot then logs in again with its password.",
    },
    "doctor.login.none": {
        "fr": "Rien pour connecter le bot : ni session ({path}), ni jeton, ni mot de passe.",
        "en": "Nothing to log the bot in with: no session ({path}), no token, no password.",
    },
    "doctor.login.none_fix": {
        "fr": "Donnez homeserver.password_file (ou AGORA_BOT_PASSWORD), ou "
        "homeserver.access_token_file (ou AGORA_ACCESS_TOKEN).",
        "en": "Give homeserver.password_file (or AGORA_BOT_PASSWORD), or "
        "homeserver.access_token_file (or AGORA_ACCESS_TOKEN).",
    },
    "doctor.login.other_user": {
        "fr": "Cette connexion est celle de {found}, pas du bot {user}.",
        "en": "This login is {found}'s, not the bot's ({user}).",
    },
    "doctor.login.other_user_fix": {
        "fr": "Vérifiez bot.localpart et homeserver.server_name, ou le jeton donné.",
        "en": "Check bot.localpart and homeserver.server_name, or the token given.",
    },
    "doctor.admin.ok": {
        "fr": "Le bot est administrateur du serveur.",
        "en": "The bot is a server admin.",
    },
    "doctor.admin.no": {
        "fr": "Le bot n'est pas administrateur du serveur : jetons d'inscription des candidats, "
        "ajout direct dans les salons et désactivation de comptes lui sont refusés.",
        "en": "The bot is not a server admin: applicants' registration tokens, force-join and "
        "deactivation are refused to it.",
    },
    "doctor.admin.fix": {
        "fr": "Avec le jeton d'un administrateur : curl -X PUT -H \"Authorization: Bearer "
        "$ADMIN_TOKEN\" -d '{body}' {url}/_synapse/admin/v2/users/{user}",
        "en": 'With an admin\'s token: curl -X PUT -H "Authorization: Bearer $ADMIN_TOKEN" '
        "-d '{body}' {url}/_synapse/admin/v2/users/{user}",
    },
    "doctor.module.ok": {
        "fr": "Le module Synapse d'Agora répond : les comptes créés avec un jeton sont reliés "
        "aux demandes.",
        "en": "Agora's Synapse module answers: accounts registered with a token are linked to "
        "their requests.",
    },
    "doctor.module.no": {
        "fr": "Le module Synapse d'Agora ne répond pas ({path}) : les comptes créés avec un "
        "jeton ne seront pas reliés aux demandes ni équipés.",
        "en": "Agora's Synapse module does not answer ({path}): accounts registered with a "
        "token will be neither linked to their requests nor provisioned.",
    },
    "doctor.module.fix": {
        "fr": "Ajoutez bot.homeserver.registration_link.RegistrationLink à modules: dans "
        "homeserver.yaml, installez agora-bot dans l'environnement Python de Synapse et "
        "redémarrez-le (deploy/README.md) ; un mandataire inverse doit laisser passer "
        "/_synapse/client.",
        "en": "Add bot.homeserver.registration_link.RegistrationLink to modules: in "
        "homeserver.yaml, install agora-bot into Synapse's Python environment and restart it "
        "(deploy/README.md); a reverse proxy must pass /_synapse/client on.",
    },
    "doctor.registration.ok": {
        "fr": "Inscription sur jeton seulement.",
        "en": "Registration by token only.",
    },
    "doctor.registration.open": {
        "fr": "L'inscription est ouverte sans jeton : n'importe qui peut se créer un compte.",
        "en": "Registration is open without a token: anyone can make an account.",
    },
    "doctor.registration.open_fix": {
        "fr": "Dans homeserver.yaml : registration_requires_token: true.",
        "en": "In homeserver.yaml: registration_requires_token: true.",
    },
    "doctor.registration.closed": {
        "fr": "L'inscription est fermée ({error}) : les candidats du formulaire web ne pourront "
        "pas créer leur compte avec leur jeton.",
        "en": "Registration is closed ({error}): web applicants will not be able to register "
        "with their token.",
    },
    "doctor.registration.closed_fix": {
        "fr": "Dans homeserver.yaml : enable_registration: true et "
        "registration_requires_token: true.",
        "en": "In homeserver.yaml: enable_registration: true and "
        "registration_requires_token: true.",
    },
    "doctor.ratelimit.ok": {
        "fr": "Le bot est exempté des limites de débit.",
        "en": "The bot is exempt from rate limits.",
    },
    "doctor.ratelimit.no": {
        "fr": "Le bot est soumis aux limites de débit : ses envois et invitations en nombre "
        "seront ralentis.",
        "en": "The bot is rate-limited: its posts and invitations in bulk will be slowed down.",
    },
    "doctor.ratelimit.fix": {
        "fr": 'curl -X POST -H "Authorization: Bearer $ADMIN_TOKEN" -d '
        "'{body}' "
        "{url}/_synapse/admin/v1/users/{user}/override_ratelimit",
        "en": 'curl -X POST -H "Authorization: Bearer $ADMIN_TOKEN" -d '
        "'{body}' "
        "{url}/_synapse/admin/v1/users/{user}/override_ratelimit",
    },
    "doctor.ratelimit.unknown": {
        "fr": "Exemption des limites de débit non vérifiée : le bot n'est pas administrateur.",
        "en": "Rate-limit exemption not checked: the bot is not a server admin.",
    },
    "doctor.federation.ok": {
        "fr": "Fédération avec {server} : joignable ({bot} répond).",
        "en": "Federation with {server}: reachable ({bot} answers).",
    },
    "doctor.federation.fail": {
        "fr": "Fédération avec {server} : injoignable depuis ce serveur ({error}).",
        "en": "Federation with {server}: unreachable from this homeserver ({error}).",
    },
    "doctor.federation.fix": {
        "fr": "Vérifiez federation_domain_whitelist des deux côtés, le DNS et le certificat de "
        "{server}, et que son port de fédération est ouvert.",
        "en": "Check federation_domain_whitelist on both sides, {server}'s DNS and "
        "certificate, and that its federation port is open.",
    },
    "doctor.federation.no_bot": {
        "fr": "{server} répond, mais {bot} n'y existe pas.",
        "en": "{server} answers, but {bot} does not exist there.",
    },
    "doctor.federation.no_bot_fix": {
        "fr": "Vérifiez federation.peer_bots.",
        "en": "Check federation.peer_bots.",
    },
    "doctor.federation.unverified": {
        "fr": "Le serveur ne vérifie pas les certificats des régions voisines : pour des essais "
        "locaux seulement.",
        "en": "The homeserver does not verify the peer regions' certificates: for local trials "
        "only.",
    },
    "doctor.federation.verify": {
        "fr": "Entre régions réelles : homeserver.federation.verify_certificates: true.",
        "en": "Between real regions: homeserver.federation.verify_certificates: true.",
    },
    "doctor.tls.ok": {
        "fr": "Certificat de {where} valide jusqu'au {date} ({days} jours).",
        "en": "Certificate of {where} valid until {date} ({days} days).",
    },
    "doctor.tls.soon": {
        "fr": "Le certificat de {where} expire le {date}, dans {days} jours.",
        "en": "The certificate of {where} expires on {date}, in {days} days.",
    },
    "doctor.tls.expired": {
        "fr": "Le certificat de {where} a expiré le {date}.",
        "en": "The certificate of {where} expired on {date}.",
    },
    "doctor.tls.renew": {
        "fr": "Renouvelez-le (certbot renew, ou auprès de votre autorité de certification).",
        "en": "Renew it (certbot renew, or with your certificate authority).",
    },
    "doctor.tls.invalid": {
        "fr": "Certificat de {where} refusé : {error}",
        "en": "Certificate of {where} refused: {error}",
    },
    "doctor.tls.invalid_fix": {
        "fr": "Installez un certificat valide pour ce nom, émis par une autorité reconnue, avec "
        "sa chaîne complète.",
        "en": "Install a valid certificate for this name, from a recognised authority, with its "
        "full chain.",
    },
    "doctor.tls.unreachable": {
        "fr": "{where} injoignable d'ici ({error}) : certificat non vérifié.",
        "en": "{where} unreachable from here ({error}): certificate not checked.",
    },
    "doctor.result.ok": {
        "fr": "Tout ce dont Agora a besoin est en place.",
        "en": "Everything Agora needs is in place.",
    },
    "doctor.result.fail": {"fr": "Points à corriger : {n}.", "en": "To fix: {n}."},
    "doctor.result.warn": {"fr": "Avertissements : {n}.", "en": "Warnings: {n}."},
}


def tp(key: str, locale: str, *args: Any) -> str:
    """A message with positional parameters ({0}, {1} …)."""
    entry = MESSAGES.get(key)
    if entry is None:
        return " ".join([key, *map(str, args)])
    return (entry.get(locale) or entry[DEFAULT_LOCALE]).format(*args)


def t(key: str, locale: str = DEFAULT_LOCALE, **params: Any) -> str:
    entry = MESSAGES.get(key)
    if entry is None:
        return key
    text = entry.get(locale) or entry[DEFAULT_LOCALE]
    return text.format(**params) if params else text


def format_duration(seconds: float, locale: str = DEFAULT_LOCALE) -> str:
    seconds = int(seconds)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    unit = {"fr": ("j", "h", "min", "s"), "en": ("d", "h", "min", "s")}.get(
        locale, ("d", "h", "min", "s")
    )
    parts = [f"{v} {u}" for v, u in zip((days, hours, minutes, secs), unit, strict=True) if v]
    return " ".join(parts[:2]) or f"0 {unit[3]}"
