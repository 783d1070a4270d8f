"""Test support, kept out of the product: Temporal test servers (``env``), the claim-workflow
harness (``harness``) and test data factories (``factories``)."""
