//! Wire formats shared by the server and the forwarder.
