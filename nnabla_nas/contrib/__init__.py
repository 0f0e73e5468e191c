"""Search spaces built from `nnabla_nas.module`, and the `Model` base they share."""
