-- Placeholder: version 0004 belongs to another branch. The migration loader refuses gaps, so this branch carries
-- an empty one until the merge, where this file is dropped in favour of the real 0004.
SELECT 1;
