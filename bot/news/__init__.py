"""News and alerts: feeds relayed into announcement rooms, manual news, sanitary alerts with
acknowledgements, signed webhooks and a public news page."""
