"""Reports as pictures: the month's overview of the network, for the admins (`!rapport`)."""
