"""User-facing text, French first, English second. One catalogue; ``t(key, locale, **params)``."""

from __future__ import annotations

from typing import Any

DEFAULT_LOCALE = "fr"

MESSAGES: dict[str, dict[str, str]] = {
    # errors
    "error.generic": {"fr": "La commande a échoué.", "en": "The command failed."},
    "error.text": {"fr": "{text}", "en": "{text}"},
    "error.internal": {"fr": "Erreur interne (réf. {ref}).", "en": "Internal error (ref. {ref})."},
    "error.bad_argument": {"fr": "Argument invalide : {detail}\nUsage : {usage}",
                           "en": "Invalid argument: {detail}\nUsage: {usage}"},
    "error.missing_argument": {"fr": "Argument manquant : {name}\nUsage : {usage}",
                               "en": "Missing argument: {name}\nUsage: {usage}"},
    "error.too_many_arguments": {"fr": "Trop d'arguments.\nUsage : {usage}",
                                 "en": "Too many arguments.\nUsage: {usage}"},
    "error.unclosed_quote": {"fr": "Guillemet non fermé dans la commande.",
                             "en": "Unclosed quote in the command."},
    "error.not_found": {"fr": "Introuvable : {what}", "en": "Not found: {what}"},
    "error.permission_denied": {"fr": "Refusé.", "en": "Refused."},
    "error.conflict": {"fr": "Conflit : {what}", "en": "Conflict: {what}"},
    "error.unknown_command": {"fr": "Commande inconnue : {name}.", "en": "Unknown command: {name}."},
    "error.did_you_mean": {"fr": " Vouliez-vous dire {suggestion} ?",
                           "en": " Did you mean {suggestion}?"},
    "error.see_help": {"fr": " Tapez {prefix}help pour la liste des commandes.",
                       "en": " Type {prefix}help for the list of commands."},
    # refusals: say why, reveal nothing
    "refused.admin_only": {"fr": "Commande réservée aux administrateurs.",
                           "en": "This command is reserved for administrators."},
    "refused.animator_only": {"fr": "Commande réservée aux animateurs et administrateurs.",
                              "en": "This command is reserved for animators and administrators."},
    "refused.member_only": {"fr": "Commande réservée aux membres vérifiés.",
                            "en": "This command is reserved for verified members."},
    "refused.where.control": {"fr": "Cette commande s'utilise uniquement dans le salon de contrôle.",
                              "en": "This command is only accepted in the control room."},
    "refused.where.dm": {"fr": "Cette commande s'utilise uniquement en message direct avec le bot.",
                         "en": "This command is only accepted in a direct chat with the bot."},
    "refused.where.managed": {"fr": "Cette commande s'utilise uniquement dans un salon géré par Agora.",
                              "en": "This command is only accepted in a room managed by Agora."},
    "refused.where.any": {"fr": "Cette commande n'est pas acceptée dans ce salon.",
                          "en": "This command is not accepted in this room."},
    "refused.unencrypted": {"fr": "Les commandes d'administration doivent être chiffrées.",
                            "en": "Administration commands must be end-to-end encrypted."},
    # argument types
    "arg.user_id": {"fr": "« {value} » n'est pas un identifiant Matrix (ex. @nom:serveur)",
                    "en": "'{value}' is not a Matrix user id (e.g. @name:server)"},
    "arg.integer": {"fr": "« {value} » n'est pas un nombre entier",
                    "en": "'{value}' is not a whole number"},
    "arg.command": {"fr": "« {value} » n'est pas une commande connue",
                    "en": "'{value}' is not a known command"},
    "arg.choice": {"fr": "« {value} » : valeurs possibles {choices}",
                   "en": "'{value}': expected one of {choices}"},
    # argument names in usage lines
    "meta.value": {"fr": "valeur", "en": "value"},
    "meta.word": {"fr": "mot", "en": "word"},
    "meta.text": {"fr": "texte", "en": "text"},
    "meta.number": {"fr": "nombre", "en": "number"},
    "meta.user": {"fr": "@utilisateur:serveur", "en": "@user:server"},
    "meta.command": {"fr": "commande", "en": "command"},
    # help
    "help.title": {"fr": "Commandes disponibles :", "en": "Available commands:"},
    "help.footer": {"fr": "Détail d'une commande : {prefix}help <commande>",
                    "en": "Details of a command: {prefix}help <command>"},
    "help.usage": {"fr": "Usage : {usage}", "en": "Usage: {usage}"},
    "help.role": {"fr": "Réservée à : {role}", "en": "For: {role}"},
    "help.where": {"fr": "Où : {where}", "en": "Where: {where}"},
    "role.admin": {"fr": "administrateurs", "en": "administrators"},
    "role.animator": {"fr": "animateurs", "en": "animators"},
    "role.member": {"fr": "membres vérifiés", "en": "verified members"},
    "role.anyone": {"fr": "tout le monde", "en": "anyone"},
    "where.control": {"fr": "salon de contrôle", "en": "control room"},
    "where.dm": {"fr": "message direct", "en": "direct chat"},
    "where.managed": {"fr": "salons gérés", "en": "managed rooms"},
    # commands
    "cmd.ping.help": {"fr": "Vérifier que le bot répond", "en": "Check that the bot answers"},
    "cmd.ping.reply": {"fr": "pong ({ms} ms)", "en": "pong ({ms} ms)"},
    "cmd.help.help": {"fr": "Lister les commandes, ou détailler l'une d'elles",
                      "en": "List the commands, or describe one"},
    "cmd.status.help": {"fr": "État du bot : version, disponibilité, serveur, appareil, données",
                        "en": "Bot status: version, uptime, homeserver, device, stored data"},
    "cmd.status.reply": {
        "fr": ("Agora {version}\n"
               "En service depuis : {uptime}\n"
               "Serveur : {homeserver} ({server_name})\n"
               "Appareil du bot : {device_id}\n"
               "Empreinte ed25519 : {fingerprint}\n"
               "Signature croisée : {cross_signed}\n"
               "Données : {counts}"),
        "en": ("Agora {version}\n"
               "Up for: {uptime}\n"
               "Homeserver: {homeserver} ({server_name})\n"
               "Bot device: {device_id}\n"
               "ed25519 fingerprint: {fingerprint}\n"
               "Cross-signing: {cross_signed}\n"
               "Stored: {counts}"),
    },
    "cmd.status.cross_signed.yes": {"fr": "appareil signé par l'identité du bot",
                                    "en": "device signed by the bot's identity"},
    "cmd.status.cross_signed.no": {"fr": "non signé", "en": "not signed"},
    "cmd.status.counts": {
        "fr": "{commands} commandes traitées, {audit} entrées d'audit, {rooms} salons suivis",
        "en": "{commands} commands handled, {audit} audit entries, {rooms} tracked rooms"},
    # control room
    "control.name": {"fr": "Agora · Salon de contrôle", "en": "Agora · Control room"},
    "control.topic": {"fr": "Administration du réseau Agora (chiffré, sur invitation).",
                      "en": "Administration of the Agora network (encrypted, invite only)."},
    "control.welcome": {
        "fr": "Agora est en service. Tapez {prefix}help pour la liste des commandes.",
        "en": "Agora is running. Type {prefix}help for the list of commands."},
    "dm.welcome": {
        "fr": "Bonjour, je suis le bot Agora. Tapez {prefix}help pour voir ce que je peux faire.",
        "en": "Hello, I am the Agora bot. Type {prefix}help to see what I can do."},
}


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
    unit = {"fr": ("j", "h", "min", "s"), "en": ("d", "h", "min", "s")}.get(locale, ("d", "h", "min", "s"))
    parts = [f"{v} {u}" for v, u in zip((days, hours, minutes, secs), unit, strict=True) if v]
    return " ".join(parts[:2]) or f"0 {unit[3]}"
