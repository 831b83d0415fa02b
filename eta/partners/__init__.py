"""Partner border agencies: the signed trust list that says whom eta trusts, and for what."""
