"""What tests share: helpers, fakes, servers, test data, throwaway PostgreSQL, the end-to-end
stack."""
