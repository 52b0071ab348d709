using System.Text;
using LibGit2Sharp;

namespace VpsPanel.Features.Git;

/// <summary>One commit of a "commits since the live version" list.</summary>
public sealed record CommitSummary(string Sha, string Author, string Subject, string When);

/// <summary>Commits from the live one (excluded) to a new one (included), newest first, at most a cap; Total counts them all.</summary>
public sealed record CommitRange(List<CommitSummary> Commits, int Total, bool NewIsAncestorOfLive);

/// <summary>
/// Reads the bare mirrors (<see cref="GitCli.MirrorPath"/>) in process with LibGit2Sharp: a commit's metadata, the files
/// of a commit without a checkout, the commits between two. Nothing here touches the network: fetches stay on the git
/// CLI (LibGit2Sharp's published native library has no SSH, and deploy keys are SSH). Every call opens the repository
/// and disposes it again: a Repository holds file handles and native memory, and a mirror changes under us on every
/// fetch.
/// </summary>
public static class GitRepo
{
    /// <summary>What a page shows of a subject; a 1 MB one-line message is cut here, not in the browser.</summary>
    public const int MaxSubjectChars = 200;

    /// <summary>Opens the mirror for one read; libgit2's own errors (a damaged object, a missing pack) become a GitException, which every caller already handles.</summary>
    static T Read<T>(string mirror, Func<Repository, T> read)
    {
        if (!Directory.Exists(mirror)) throw new GitException("the repository has not been fetched yet");
        try
        {
            using var repo = new Repository(mirror);
            return read(repo);
        }
        catch (LibGit2SharpException e) { throw new GitException($"the repository cannot be read: {e.Message}"); }
    }

    static Commit FindCommit(Repository repo, string sha)
    {
        if (!GitCli.IsSha(sha)) throw new GitException("a commit must be given as its full 40-character SHA");
        return LookupCommit(repo, sha) ?? throw new GitException(NotInRepository(sha));
    }

    /// <summary>
    /// The commit with this full SHA, or null. By object id, not by the string: given a string, libgit2 first tries it
    /// as a reference name (refs/heads/SHA, refs/tags/SHA, ... and packed-refs, read from disk each time): 10 files
    /// opened per absent commit, thousands a second in a flood of pushes (issue 20, strace).
    /// </summary>
    static Commit? LookupCommit(Repository repo, string sha) => ObjectId.TryParse(sha, out var id) ? repo.Lookup<Commit>(id) : null;

    /// <summary>Why a deployment of a commit the mirror lacks fails (also said of queued pushes, Deployments/PushOrder).</summary>
    public static string NotInRepository(string sha) => $"the commit {sha} is not in the repository (on any fetched branch)";

    /// <summary>
    /// The first line of a message, cut to <see cref="MaxSubjectChars"/>. libgit2 decodes messages as UTF-8 with
    /// replacement characters for invalid bytes, so what comes here is always a valid string; control characters
    /// (a stray escape or NUL in a message) are replaced too, since they mean nothing on a page or in a log line.
    /// </summary>
    public static string Subject(string message)
    {
        var line = message.AsSpan();
        var nl = line.IndexOfAny('\n', '\r');
        if (nl >= 0) line = line[..nl];
        var cut = line.Length > MaxSubjectChars;
        if (cut) line = line[..MaxSubjectChars];
        var sb = new StringBuilder(line.Length + 1);
        foreach (var ch in line) sb.Append(char.IsControl(ch) ? '\uFFFD' : ch);
        // A cut between the halves of a surrogate pair would leave half a character.
        if (sb.Length > 0 && char.IsHighSurrogate(sb[^1])) sb.Length--;
        if (cut) sb.Append('…');
        return sb.ToString();
    }

    static string AuthorOf(Commit c) => $"{c.Author.Name} <{c.Author.Email}>";

    /// <summary>The commit a branch points at, or an exact commit, with its author and subject.</summary>
    public static CommitInfo ReadCommit(string mirror, string branch, string? exactCommit) => Read(mirror, repo =>
    {
        var commit = exactCommit is not null ? FindCommit(repo, exactCommit)
            : repo.Branches[branch]?.Tip ?? throw new GitException($"the branch \"{branch}\" has no commits");
        return new CommitInfo(commit.Sha, AuthorOf(commit), Subject(commit.Message));
    });

    /// <summary>Every file path in a commit's tree ('/'-separated), sorted, at most <paramref name="max"/>; no checkout.</summary>
    public static List<string> ListFiles(string mirror, string sha, int max = 10_000) => Read(mirror, repo =>
    {
        var files = new List<string>();
        void Walk(Tree tree)
        {
            foreach (var entry in tree)
            {
                if (files.Count >= max) return;
                if (entry.TargetType == TreeEntryTargetType.Blob) files.Add(entry.Path.Replace('\\', '/'));
                else if (entry.TargetType == TreeEntryTargetType.Tree) Walk((Tree)entry.Target);
                // Submodules (GitLink) have no content in this repository.
            }
        }
        Walk(FindCommit(repo, sha).Tree);
        files.Sort(StringComparer.Ordinal);
        return files;
    });

    /// <summary>
    /// Every path a change from one commit to another touches ('/'-separated): added, deleted, modified, and both the old
    /// and the new path of a rename (moving a file out of a directory changes that directory). Read in process: no
    /// checkout and no cap on a long list, which a line-captured git diff would have.
    /// </summary>
    public static List<string> ChangedPaths(string mirror, string fromSha, string toSha) => Read(mirror, repo =>
    {
        var changes = repo.Diff.Compare<TreeChanges>(FindCommit(repo, fromSha).Tree, FindCommit(repo, toSha).Tree);
        return changes.SelectMany(c => new[] { c.Path, c.OldPath }).Where(p => !string.IsNullOrEmpty(p)).Select(p => p.Replace('\\', '/'))
            .Distinct().Order(StringComparer.Ordinal).ToList();
    });

    /// <summary>
    /// The bytes of one file of a commit (package.json, go.mod …), or null when the commit has no such file. A file
    /// larger than <paramref name="maxBytes"/> is refused rather than read into memory.
    /// </summary>
    public static byte[]? ReadFile(string mirror, string sha, string path, int maxBytes = 1024 * 1024) => Read(mirror, repo =>
    {
        var entry = FindCommit(repo, sha)[path];
        if (entry is null || entry.TargetType != TreeEntryTargetType.Blob) return (byte[]?)null;
        var blob = (Blob)entry.Target;
        if (blob.Size > maxBytes) throw new GitException($"{path} is {blob.Size} bytes; at most {maxBytes} are read");
        using var stream = blob.GetContentStream();
        using var ms = new MemoryStream((int)blob.Size);
        stream.CopyTo(ms);
        return ms.ToArray();
    });

    /// <summary>
    /// The given commits the mirror has, and of those the ones that are no ancestor of another one of them (git
    /// merge-base --independent). A SHA naming no commit (never fetched, or force-pushed away and pruned) is absent.
    /// </summary>
    public static (HashSet<string> Present, HashSet<string> Newest) NewestCommits(string mirror, IEnumerable<string> shas) => Read(mirror, repo =>
    {
        var present = shas.Distinct().Select(s => LookupCommit(repo, s)).OfType<Commit>().ToList();
        // An ancestor of another given commit is the merge base of the two; a handful of commits per push, so pairs are fine.
        var newest = present.Where(c => !present.Any(d => d.Sha != c.Sha && repo.ObjectDatabase.FindMergeBase(c, d)?.Sha == c.Sha)).Select(c => c.Sha);
        return (present.Select(c => c.Sha).ToHashSet(), newest.ToHashSet());
    });

    /// <summary>Sets the mirror's remote.origin.url when it differs (a fetch names its URL itself; this is for people reading the mirror).</summary>
    public static void SetOriginUrl(string mirror, string url) => Read(mirror, repo =>
    {
        if (repo.Config.Get<string>("remote.origin.url")?.Value != url) repo.Config.Set("remote.origin.url", url, ConfigurationLevel.Local);
        return 0;
    });

    /// <summary>
    /// The commits the new commit has that the live one has not (git log live..new), newest first, at most
    /// <paramref name="cap"/> listed. When the new commit is an ancestor of the live one (a rollback, or a redeploy of
    /// an older commit) the list is empty and <see cref="CommitRange.NewIsAncestorOfLive"/> says why.
    /// </summary>
    public static CommitRange CommitsBetween(string mirror, string liveSha, string newSha, int cap = 50) => Read(mirror, repo =>
    {
        var live = FindCommit(repo, liveSha);
        var next = FindCommit(repo, newSha);
        var filter = new CommitFilter
        {
            IncludeReachableFrom = next,
            ExcludeReachableFrom = live,
            SortBy = CommitSortStrategies.Topological | CommitSortStrategies.Time,
        };
        var list = new List<CommitSummary>();
        var total = 0;
        foreach (var c in repo.Commits.QueryBy(filter))
        {
            if (total++ < cap)
                list.Add(new CommitSummary(c.Sha, AuthorOf(c), Subject(c.Message), c.Author.When.UtcDateTime.ToString("yyyy-MM-dd HH:mm")));
        }
        var backwards = total == 0 && live.Sha != next.Sha && repo.ObjectDatabase.FindMergeBase(live, next)?.Sha == next.Sha;
        return new CommitRange(list, total, backwards);
    });
}
