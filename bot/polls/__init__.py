"""Polls (`!vote`): native Matrix polls (MSC3381) posted into one room or every room of a
territory and those below it, their responses counted together, ended at their deadline with
the combined result posted in each room."""
