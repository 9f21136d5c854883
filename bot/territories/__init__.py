"""The network: territories, their spaces and rooms, made and kept as declared."""
