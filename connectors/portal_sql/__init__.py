"""The SQL dealer portal: a portal whose database we read and write directly."""
