namespace VpsPanel.Features.Git;

public sealed partial class GitCli
{
    static readonly TimeSpan LsRemoteTimeout = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The repository's default branch: the branch its HEAD points at, asked with <c>git ls-remote --symref URL HEAD</c>
    /// under the same rules as a fetch (allowed hosts judged now, pinned addresses, the project's credentials). Asked at
    /// every deploy of a project whose branch was left empty, so a default branch renamed on the Git host is followed.
    /// </summary>
    public async Task<string> DefaultBranchAsync(string url, GitAuth auth, CancellationToken ct)
    {
        if (UrlProblem(url, mayUseLocalRepos: true) is { } up) throw new GitException(up);
        var (refused, addresses) = await hosts.CheckAsync(url, atFetch: true, ct);
        if (refused is not null) throw new GitException(refused);
        if (auth.Token is not null && hosts.TokenProblem(url) is { } tp) throw new GitException(tp);
        Directory.CreateDirectory(SshDir, Data.Db.OwnerOnlyDir);
        var r = await Git([.. GitHosts.PinnedResolve(url, addresses), "ls-remote", "--symref", "--", url, "HEAD"], auth, LsRemoteTimeout, ct);
        if (!r.Ok) throw new GitException(FetchFailure(r, url, "HEAD").Replace("git fetch", "git ls-remote"));
        var branch = ParseSymrefHead(r.Stdout);
        if (branch is null)
            throw new GitException($"the repository at {Redact(url)} does not say which branch is its default (its HEAD is not a branch); enter the branch to deploy");
        // What the remote says is not trusted further than a branch typed in the form.
        if (await CheckBranchWithGitAsync(branch, ct) is { } bad) throw new GitException($"the repository's default branch \"{branch}\" cannot be used: {bad}");
        return branch;
    }

    /// <summary>The branch in ls-remote --symref's first line, "ref: refs/heads/NAME&lt;TAB&gt;HEAD"; null when HEAD is not a symbolic ref to a branch.</summary>
    public static string? ParseSymrefHead(string lsRemoteOutput)
    {
        foreach (var line in lsRemoteOutput.Split('\n'))
        {
            const string Prefix = "ref: refs/heads/";
            var parts = line.TrimEnd('\r').Split('\t');
            if (parts.Length == 2 && parts[1] == "HEAD" && parts[0].StartsWith(Prefix, StringComparison.Ordinal) && parts[0].Length > Prefix.Length)
                return parts[0][Prefix.Length..];
        }
        return null;
    }
}
