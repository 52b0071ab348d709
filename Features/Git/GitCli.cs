using System.Text;
using System.Text.RegularExpressions;
using VpsPanel.Features.Shared;

namespace VpsPanel.Features.Git;

/// <summary>git said no; the message carries git's own stderr.</summary>
public sealed class GitException(string message) : Exception(message);

/// <summary>How git reaches a private repository: nothing, an HTTPS token, or an SSH key file.</summary>
public sealed record GitAuth(string? Token = null, string? SshKeyFile = null)
{
    public static readonly GitAuth None = new();
}

public sealed record CommitInfo(string Sha, string Author, string Message);

/// <summary>
/// The git CLI, run through <see cref="Proc"/> only. One bare mirror per project under &lt;DataDir&gt;/repos is fetched
/// into on every deploy (a redeploy does not clone from scratch); each deploy checks the exact commit out into a
/// fresh directory. User values are validated before they get here and again here: nothing starting with '-' reaches
/// git as an argument, every URL is passed after "--", and only the transports we allow are enabled.
/// </summary>
public sealed partial class GitCli(string dataDir, GitHosts hosts)
{
    static readonly TimeSpan FetchTimeout = TimeSpan.FromMinutes(10);
    static readonly TimeSpan LocalTimeout = TimeSpan.FromMinutes(2);

    string ReposDir => Path.Combine(dataDir, "repos");
    public string SshDir => Path.Combine(dataDir, "ssh");
    public string KnownHostsFile => Path.Combine(SshDir, "known_hosts");

    // Characters no URL we accept needs and that mean something to a shell or to git's transport syntax.
    const string ForbiddenUrlChars = "'\"`$;|&<>(){}\\! ";

    [GeneratedRegex(@"^[A-Za-z0-9._-]+@(?<host>[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?):(?<path>[A-Za-z0-9._~/-]+)$")]
    private static partial Regex ScpLikeUrl();

    [GeneratedRegex(@"^[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?$")]
    private static partial Regex HostPattern();

    [GeneratedRegex(@"^[A-Za-z0-9._/-]+$")]
    private static partial Regex BranchChars();

    [GeneratedRegex(@"^/[A-Za-z0-9._/-]+$")]
    private static partial Regex LocalPath();

    // git's "transport::address" syntax (ext::, fd::, any remote helper): a scheme-like word then "::" at the very start.
    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9+.-]*::")]
    private static partial Regex TransportHelper();

    [GeneratedRegex(@"returned error: 3\d\d")]
    private static partial Regex RedirectAnswer();

    /// <summary>The host of a git@host:path URL, or null when the URL is not of that form.</summary>
    internal static string? ScpLikeHost(string url) => ScpLikeUrl().Match(url) is { Success: true } m ? m.Groups["host"].Value : null;

    /// <summary>
    /// https://, http://, ssh://, git@host:path, and (for admins, and tests) absolute local paths and file://.
    /// Everything else, including git's "transport::address" helpers such as ext::, is refused.
    /// </summary>
    public static string? UrlProblem(string url, bool mayUseLocalRepos)
    {
        const string Forms = "Use https://host/owner/repo.git, ssh://git@host/owner/repo.git or git@host:owner/repo.git.";
        if (url == "") return "Enter the repository's Git URL. " + Forms;
        if (url.Length > 1000) return "A Git URL can be at most 1000 characters.";
        if (url.StartsWith('-')) return "A Git URL cannot start with '-'. " + Forms;
        if (url.Any(char.IsControl) || url.Any(ch => ForbiddenUrlChars.Contains(ch)))
            return "A Git URL may not contain spaces, quotes, or any of ` $ ; | & < > ( ) { } \\ !. " + Forms;
        // Only at the start: "::" inside an IPv6 address ([::1]) is not a transport helper.
        if (TransportHelper().IsMatch(url)) return "Git transport helpers (like ext::) are not allowed. " + Forms;
        if (url.StartsWith('/') || url.StartsWith("file://", StringComparison.Ordinal))
        {
            if (!mayUseLocalRepos) return "Only an admin can deploy from a path on the panel's own machine. " + Forms;
            var path = url.StartsWith('/') ? url : url["file://".Length..];
            if (!LocalPath().IsMatch(path) || path.Split('/').Any(s => s is ".." || s.StartsWith('-')))
                return "A local repository must be an absolute path of plain names (no \"..\").";
            return null;
        }
        if (ScpLikeUrl().Match(url) is { Success: true } m)
            return m.Groups["path"].Value.StartsWith('-') || m.Groups["host"].Value.StartsWith('-') ? "The host and path cannot start with '-'." : null;
        if (!Uri.TryCreate(url, UriKind.Absolute, out var u) || u.Scheme is not ("https" or "http" or "ssh"))
            return "That is not a Git URL the panel accepts. " + Forms;
        if (u.HostNameType != UriHostNameType.IPv6 && (!HostPattern().IsMatch(u.IdnHost) || u.IdnHost.StartsWith('-'))) return "The Git URL's host is not a valid hostname.";
        if (u.UserInfo.Contains(':')) return "Do not put a password or token in the URL; choose \"HTTPS token\" below instead.";
        if (u.AbsolutePath.Length < 2) return "The Git URL needs a repository path, like /owner/repo.git.";
        if (Uri.UnescapeDataString(u.AbsolutePath).Split('/').Any(s => s is ".." || s.StartsWith('-'))) return "The repository path cannot contain \"..\" or names starting with '-'.";
        return null;
    }

    public static bool IsSshUrl(string url) => url.StartsWith("ssh://", StringComparison.Ordinal) || ScpLikeUrl().IsMatch(url);

    /// <summary>Our own checks first (cheap, and they explain); then git's own rules (see <see cref="CheckBranchWithGitAsync"/>).</summary>
    public static string? BranchProblem(string branch)
    {
        if (branch == "") return "Enter the branch to deploy, like main.";
        if (branch.Length > 200) return "A branch name can be at most 200 characters.";
        if (branch.StartsWith('-')) return "A branch name cannot start with '-'.";
        if (!BranchChars().IsMatch(branch)) return "A branch name may contain letters, digits, '.', '_', '-' and '/' only (no spaces, quotes, $ or other shell characters).";
        if (branch.Contains("..") || branch.Contains("//") || branch.StartsWith('/') || branch.EndsWith('/') || branch.EndsWith('.') ||
            branch.EndsWith(".lock", StringComparison.Ordinal) || branch.Split('/').Any(s => s.StartsWith('.')))
            return "That is not a valid Git branch name (no \"..\", \"//\", leading dots or a trailing '/', '.' or \".lock\").";
        return null;
    }

    /// <summary>
    /// git check-ref-format --branch: the authority on what git accepts, asked after our own checks passed. A name git
    /// accepted once is remembered for the life of the process (the answer depends on the name alone), so a deploy's
    /// fetch does not spend a git process on the same branch every time (5-20 ms each on a busy 2-core box).
    /// </summary>
    public static async Task<string?> CheckBranchWithGitAsync(string branch, CancellationToken ct)
    {
        if (BranchProblem(branch) is { } p) return p;
        if (AcceptedBranches.ContainsKey(branch)) return null;
        var r = await Proc.RunAsync("git", ["check-ref-format", "--branch", branch], LocalTimeout, ct);
        if (!r.Ok) return "That is not a valid Git branch name.";
        // Bounded: names come from forms too; starting over costs one git process per name.
        if (AcceptedBranches.Count >= 1000) AcceptedBranches.Clear();
        AcceptedBranches.TryAdd(branch, 0);
        return null;
    }

    static readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> AcceptedBranches = new(StringComparer.Ordinal);

    /// <summary>
    /// Options on every git call: only the transports we accept; no hooks, no fsmonitor, no credential helpers that
    /// might prompt or leak; no redirects.
    /// </summary>
    static IEnumerable<string> SafeConfig() =>
    [
        "-c", "protocol.allow=never",
        "-c", "protocol.https.allow=always",
        "-c", "protocol.http.allow=always",
        "-c", "protocol.ssh.allow=always",
        "-c", "protocol.file.allow=always",
        "-c", "core.hooksPath=/dev/null",
        "-c", "core.fsmonitor=false",
        "-c", "credential.helper=",
        // A redirect could lead to an address the URL check never saw (loopback, metadata): not followed at all.
        "-c", "http.followRedirects=false",
    ];

    Dictionary<string, string> EnvFor(GitAuth auth)
    {
        var env = new Dictionary<string, string>
        {
            // Whatever is in the panel user's ~/.gitconfig or /etc/gitconfig must not change what a deploy does.
            ["GIT_CONFIG_NOSYSTEM"] = "1",
            ["GIT_CONFIG_GLOBAL"] = "/dev/null",
            ["GIT_ASKPASS"] = "/bin/false",
            ["SSH_ASKPASS"] = "/bin/false",
            ["GIT_SSH_COMMAND"] = SshCommand(auth.SshKeyFile),
        };
        if (auth.Token is { } token)
        {
            // Passed through the environment (readable by the panel's user only), not the command line (readable by all).
            var basic = Convert.ToBase64String(Encoding.UTF8.GetBytes("x-access-token:" + token));
            env["GIT_CONFIG_COUNT"] = "1";
            env["GIT_CONFIG_KEY_0"] = "http.extraHeader";
            env["GIT_CONFIG_VALUE_0"] = "Authorization: Basic " + basic;
        }
        return env;
    }

    /// <summary>
    /// git runs GIT_SSH_COMMAND through a shell, so every word is single-quoted here. The paths are the panel's own
    /// (under the data dir); a quote in them is refused rather than escaped.
    /// </summary>
    string SshCommand(string? keyFile)
    {
        var words = new List<string>
        {
            "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=accept-new", "-o", $"UserKnownHostsFile={KnownHostsFile}",
            "-o", "ConnectTimeout=20", "-F", "/dev/null",
        };
        if (keyFile is not null) words.AddRange(["-o", "IdentitiesOnly=yes", "-i", keyFile]);
        if (words.Any(w => w.Contains('\''))) throw new GitException("the panel's data dir path contains a quote; move it to a plain path");
        return string.Join(' ', words.Select(w => "'" + w + "'"));
    }

    async Task<ProcResult> Git(IEnumerable<string> args, GitAuth auth, TimeSpan timeout, CancellationToken ct) =>
        await Proc.RunAsync("git", SafeConfig().Concat(args), timeout, ct, env: EnvFor(auth));

    /// <summary>What went wrong with a process run: "timed out", its stderr, or its exit code.</summary>
    internal static string Describe(ProcResult r) => r.TimedOut ? "timed out" : (r.Stderr.Trim() is { Length: > 0 } e ? e : $"exit code {r.ExitCode}");

    public string MirrorPath(long projectId) => Path.Combine(ReposDir, $"project-{projectId}.git");

    /// <summary>
    /// Creates the bare mirror on first use, then fetches the branch into it. The remote URL is set on every call so
    /// an edited project URL takes effect on the next deploy.
    /// </summary>
    public async Task FetchAsync(long projectId, string url, string branch, GitAuth auth, Action<string> log, CancellationToken ct)
    {
        if (UrlProblem(url, mayUseLocalRepos: true) is { } up) throw new GitException(up);
        if (await CheckBranchWithGitAsync(branch, ct) is { } bp) throw new GitException(bp);
        // Judged again now, not only when the URL was saved: DNS may have changed, or the URL predates these rules.
        var (refused, addresses) = await hosts.CheckAsync(url, atFetch: true, ct);
        if (refused is not null) throw new GitException(refused);
        if (auth.Token is not null && hosts.TokenProblem(url) is { } tp) throw new GitException(tp);
        Directory.CreateDirectory(ReposDir, Data.Db.OwnerOnlyDir);
        Directory.CreateDirectory(SshDir, Data.Db.OwnerOnlyDir);
        var mirror = MirrorPath(projectId);
        if (!Directory.Exists(Path.Combine(mirror, "objects")))
        {
            var init = await Git(["init", "--bare", "--quiet", mirror], GitAuth.None, LocalTimeout, ct);
            if (!init.Ok) throw new GitException($"git init of the mirror failed: {Describe(init)}");
        }
        // The fetch below names the URL itself; the mirror's remote.origin.url only tells a person looking at the
        // mirror where it comes from. Written (in process) only when it changed: a git process per deploy otherwise.
        GitRepo.SetOriginUrl(mirror, url);
        log($"$ git fetch {Redact(url)} {branch}");
        // git's own output is not streamed into the log: for a remote it carries the server's answer ("remote: …"
        // lines with an HTTP error body) and connection details; FetchFailure says what went wrong in our words.
        // --no-auto-maintenance: the fetch would start `git maintenance run --auto` before returning, on the deploy's
        // critical path; the deploy runs it once the new version is served (MaintainAsync).
        var fetch = await Git([.. GitHosts.PinnedResolve(url, addresses), "--git-dir", mirror, "fetch", "--quiet", "--prune", "--no-tags", "--no-auto-maintenance", "--", url,
            $"+refs/heads/{branch}:refs/heads/{branch}"], auth, FetchTimeout, ct);
        if (!fetch.Ok) throw new GitException(FetchFailure(fetch, url, branch));
    }

    /// <summary>
    /// What the fetch leaves out (see <see cref="FetchAsync"/>): git's own housekeeping of the mirror (packs loose
    /// objects once there are many), run after a deploy went live. Best effort: a failure is only reported.
    /// </summary>
    public async Task<string?> MaintainAsync(long projectId, CancellationToken ct)
    {
        var mirror = MirrorPath(projectId);
        if (!Directory.Exists(mirror)) return null;
        var r = await Git(["--git-dir", mirror, "maintenance", "run", "--auto", "--quiet"], GitAuth.None, FetchTimeout, ct);
        return r.Ok ? null : $"git maintenance of the mirror failed: {Describe(r)}";
    }

    /// <summary>
    /// Why a fetch failed, without what the remote said: a member could otherwise read the body of whatever answers
    /// at a URL, or tell open ports from closed ones by the connection error. A local path (admins only) keeps git's
    /// own message, which is about files on this machine.
    /// </summary>
    internal static string FetchFailure(ProcResult r, string url, string branch)
    {
        var err = r.Stderr;
        bool Has(string s) => err.Contains(s, StringComparison.OrdinalIgnoreCase);
        if (r.TimedOut) return $"git fetch from {Redact(url)} timed out";
        if (Has("couldn't find remote ref")) return $"the branch \"{branch}\" does not exist in the repository";
        if (GitHosts.TargetOf(url) is null) return $"git fetch from {Redact(url)} failed: {Describe(r)}";
        var failed = $"git fetch from {Redact(url)} failed: ";
        if (Has("Permission denied (publickey")) return failed + "the SSH server refused the deploy key (Permission denied); add the project's deploy key to the repository";
        if (Has("Host key verification failed")) return failed + "the SSH server's host key is not the one the panel saw before (Host key verification failed)";
        if (Has("Authentication failed") || Has("returned error: 401") || Has("returned error: 403"))
            return failed + "the Git server refused the access (authentication failed); check the access token and its permissions";
        if (RedirectAnswer().IsMatch(err))
            return failed + "the Git server answered with a redirect, which the panel does not follow; enter the repository's final URL";
        return failed + "the repository could not be read (the server is unreachable, refused the connection, or is not a Git repository at that URL)";
    }

    /// <summary>
    /// The commit a deploy will build: the branch head, or an exact commit that must exist in the mirror. Read in
    /// process (<see cref="GitRepo"/>): no git process for what is a lookup in the object database.
    /// </summary>
    public Task<CommitInfo> ResolveAsync(long projectId, string branch, string? exactCommit, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        return Task.FromResult(GitRepo.ReadCommit(MirrorPath(projectId), branch, exactCommit));
    }

    public static bool IsSha(string s) => s.Length == 40 && s.All(char.IsAsciiHexDigitLower);

    /// <summary>
    /// Which of these commits the mirror has (a commit force-pushed away, or never fetched, it has not), and of those
    /// the ones no other of them descends from (what git merge-base --independent prints): for a branch with a
    /// straight history, the newest one. Every other present commit is an ancestor of one of the newest. Read in
    /// process (<see cref="GitRepo.NewestCommits"/>): two git processes per push deploy before.
    /// </summary>
    public Task<(HashSet<string> Present, HashSet<string> Newest)> NewestCommitsAsync(long projectId, IReadOnlyCollection<string> shas, CancellationToken ct)
    {
        if (shas.Any(s => !IsSha(s))) throw new GitException("a commit must be given as its full 40-character SHA");
        ct.ThrowIfCancellationRequested();
        return Task.FromResult(GitRepo.NewestCommits(MirrorPath(projectId), shas));
    }

    /// <summary>Whether <paramref name="older"/> is an ancestor of <paramref name="newer"/> in the mirror (git merge-base --is-ancestor).</summary>
    public async Task<bool> IsAncestorAsync(long projectId, string older, string newer, CancellationToken ct)
    {
        if (!IsSha(older) || !IsSha(newer)) throw new GitException("a commit must be given as its full 40-character SHA");
        var r = await Git(["--git-dir", MirrorPath(projectId), "merge-base", "--is-ancestor", older, newer], GitAuth.None, LocalTimeout, ct);
        // Exit 1 is git's "no"; anything else is a failure, not an answer.
        if (r.ExitCode is 0 or 1 && !r.TimedOut) return r.ExitCode == 0;
        throw new GitException($"git merge-base --is-ancestor in the mirror failed: {Describe(r)}");
    }

    /// <summary>
    /// The paths a change from <paramref name="from"/> to <paramref name="to"/> touches (git diff --name-only), both
    /// sides of a rename (--no-renames: moving a file out of a watched directory changes that directory), NUL-separated
    /// so no name is quoted or split.
    /// </summary>
    public async Task<List<string>> ChangedPathsAsync(long projectId, string from, string to, CancellationToken ct)
    {
        if (!IsSha(from) || !IsSha(to)) throw new GitException("a commit must be given as its full 40-character SHA");
        var r = await Git(["--git-dir", MirrorPath(projectId), "diff", "--name-only", "--no-renames", "-z", from, to, "--"], GitAuth.None, LocalTimeout, ct);
        if (!r.Ok) throw new GitException($"git diff in the mirror failed: {Describe(r)}");
        return [.. r.Stdout.Split('\0', StringSplitOptions.RemoveEmptyEntries)];
    }

    /// <summary>
    /// Writes the exact commit's files into a fresh directory straight from the mirror, in one git process: read-tree
    /// with a throw-away index file (next to the directory, never inside it, so it is not part of the build context)
    /// and the directory as the work tree. Same files, modes, links and .gitattributes conversions as a clone and a
    /// checkout, without a .git to create and delete; a shared clone and a checkout were two processes and a
    /// repository's worth of files per deploy (measured: 0.22 s against 0.12 s on a busy box). Nothing is written
    /// into the mirror, so deploys of other projects and previews can check out at the same time.
    /// </summary>
    public async Task CheckoutAsync(long projectId, string sha, string targetDir, CancellationToken ct)
    {
        if (!IsSha(sha)) throw new GitException("a commit must be given as its full 40-character SHA");
        if (Directory.Exists(targetDir)) Directory.Delete(targetDir, recursive: true);
        Directory.CreateDirectory(Path.GetDirectoryName(targetDir)!, Data.Db.OwnerOnlyDir);
        Directory.CreateDirectory(targetDir);
        var index = targetDir.TrimEnd('/') + ".index";
        try
        {
            var env = EnvFor(GitAuth.None);
            env["GIT_INDEX_FILE"] = index;
            var co = await Proc.RunAsync("git", SafeConfig().Concat(["--git-dir", MirrorPath(projectId), "--work-tree", targetDir, "read-tree", "--reset", "-u", sha]),
                LocalTimeout, ct, env: env);
            if (!co.Ok) throw new GitException($"git checkout of {sha} failed: {Describe(co)}");
        }
        finally
        {
            File.Delete(index);
            File.Delete(index + ".lock");
        }
    }

    /// <summary>Hides anything before '@' in an https URL (should a user have put credentials there despite the rules).</summary>
    static string Redact(string url) =>
        Uri.TryCreate(url, UriKind.Absolute, out var u) && u.UserInfo != "" && u.Scheme.StartsWith("http") ? url.Replace(u.UserInfo + "@", "***@") : url;

    /// <summary>Forgets a project's mirror (the project was deleted; its deploy key went with its row).</summary>
    public void DeleteProjectFiles(long projectId)
    {
        if (Directory.Exists(MirrorPath(projectId))) Directory.Delete(MirrorPath(projectId), recursive: true);
    }
}
