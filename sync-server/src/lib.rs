//! gridwalk-server: the district sync server (built in the sync server issue; nothing here yet).
