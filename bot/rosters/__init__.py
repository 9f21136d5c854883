"""On-call rosters (listes de garde): slots from templates, imports, who is on duty."""
