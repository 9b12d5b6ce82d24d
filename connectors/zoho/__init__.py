"""What Zoho Inventory and Zoho Books share: OAuth, the {code, message} envelope, paging, errors."""
