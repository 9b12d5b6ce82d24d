"""dealer-sync: keeps a dealer portal, an inventory system and a ledger in sync."""
