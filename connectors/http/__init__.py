"""HTTP pieces every REST connector shares: errors, request budget, retries, paging, OAuth."""
