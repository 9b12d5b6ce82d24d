"""Great Expectations suites for mapped records, and the runner that reports failing rows by id."""
