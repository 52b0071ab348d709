-- Deploy keys (issue 6): the private half of a project's SSH deploy key moves from a plain 0600 file under
-- <DataDir>/ssh into the database, encrypted with Data Protection like Git tokens and variables. So it is in every
-- backup, and no file in the data dir holds it except for the seconds a fetch needs it. Existing key files are
-- moved in (and deleted) at startup by Features/Projects/DeployKey.cs.
ALTER TABLE projects ADD COLUMN ssh_private_key_protected TEXT;
