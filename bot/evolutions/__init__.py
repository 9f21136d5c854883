"""Evolution requests for a software's editor, filed, voted on and prioritised by several
regions in a room they share, kept as that room's state."""
