using VpsPanel.Features.Git;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Git;

/// <summary>
/// The deploy's git work with fewer git processes (issue 20, deploy overhead): the checkout is one read-tree from the
/// mirror instead of a shared clone and a checkout, the push order is read in process instead of by rev-list and
/// merge-base. Checked against what git's own clone and merge-base --independent give, with the real git CLI.
/// </summary>
public sealed class GitCheckoutTests
{
    static GitCli NewGit(string dataDir) => new(dataDir, new GitHosts([], allowPrivateNetworks: true));

    /// <summary>Every path under a directory with what it is: a link's target, a file's bytes and executable bit, a directory.</summary>
    static SortedDictionary<string, string> Describe(string root)
    {
        var all = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var path in Directory.EnumerateFileSystemEntries(root, "*", new EnumerationOptions { RecurseSubdirectories = true, AttributesToSkip = 0 }))
        {
            var info = new FileInfo(path);
            var rel = Path.GetRelativePath(root, path);
            if (info.LinkTarget is { } target) all[rel] = "link -> " + target;
            else if (Directory.Exists(path)) all[rel] = "dir";
            else all[rel] = $"file {(File.GetUnixFileMode(path).HasFlag(UnixFileMode.UserExecute) ? "x" : "-")} {Convert.ToHexString(File.ReadAllBytes(path))}";
        }
        return all;
    }

    [Fact]
    public async Task Checkout_writes_what_a_clone_and_checkout_write_and_nothing_else()
    {
        using var repo = TestRepo.Empty();
        var data = Paths.NewTempDir("vpspanel-checkout-");
        try
        {
            // What a build context can hold: a dot-file, an executable, a link inside the repository, a nested
            // directory, and a file .gitattributes converts on checkout (eol=crlf).
            Directory.CreateDirectory(Path.Combine(repo.Work, "www", "deep"));
            File.WriteAllText(Path.Combine(repo.Work, "www", "deep", "index.html"), "v1\n");
            File.WriteAllText(Path.Combine(repo.Work, ".dockerignore"), "secret.txt\n");
            File.WriteAllText(Path.Combine(repo.Work, "run.sh"), "#!/bin/sh\necho hi\n");
            File.SetUnixFileMode(Path.Combine(repo.Work, "run.sh"), UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            File.CreateSymbolicLink(Path.Combine(repo.Work, "page"), "www/deep/index.html");
            File.WriteAllText(Path.Combine(repo.Work, ".gitattributes"), "*.txt eol=crlf\n");
            File.WriteAllText(Path.Combine(repo.Work, "notes.txt"), "a\nb\n");
            var first = repo.CommitAll("first");
            File.WriteAllText(Path.Combine(repo.Work, "www", "deep", "index.html"), "v2\n");
            File.Delete(Path.Combine(repo.Work, "run.sh"));
            var second = repo.CommitAll("second");

            var git = NewGit(data);
            await git.FetchAsync(7, repo.Bare, "main", GitAuth.None, _ => { }, CancellationToken.None);
            var mirror = git.MirrorPath(7);
            Assert.Equal(repo.Bare, TestRepo.Run(data, "--git-dir", mirror, "config", "remote.origin.url").Trim());

            // Both commits at once into two directories (parallel deploys and previews share a mirror).
            var builds = Path.Combine(data, "builds");
            var a = Path.Combine(builds, "1");
            var b = Path.Combine(builds, "2");
            await Task.WhenAll(git.CheckoutAsync(7, first, a, CancellationToken.None), git.CheckoutAsync(7, second, b, CancellationToken.None));

            foreach (var (dir, sha) in new[] { (a, first), (b, second) })
            {
                var clone = Path.Combine(data, "clone-" + sha[..7]);
                TestRepo.Run(data, "clone", "--quiet", "--no-checkout", repo.Bare, clone);
                TestRepo.Run(clone, "-c", "advice.detachedHead=false", "checkout", "--quiet", "--detach", sha);
                Directory.Delete(Path.Combine(clone, ".git"), recursive: true);
                Assert.Equal(Describe(clone), Describe(dir));
            }
            Assert.Equal("v1\n", File.ReadAllText(Path.Combine(a, "page")));
            Assert.Equal("v2\n", File.ReadAllText(Path.Combine(b, "page")));
            Assert.Equal("a\r\nb\r\n", File.ReadAllText(Path.Combine(a, "notes.txt")));
            Assert.True(File.GetUnixFileMode(Path.Combine(a, "run.sh")).HasFlag(UnixFileMode.UserExecute));
            Assert.False(File.Exists(Path.Combine(b, "run.sh")));
            // No .git in the context, no index file left beside it, and nothing written into the mirror.
            Assert.False(Directory.Exists(Path.Combine(a, ".git")));
            Assert.Equal(new[] { "1", "2" }, Directory.EnumerateFileSystemEntries(builds).Select(p => Path.GetFileName(p)!).Order(StringComparer.Ordinal).ToArray());
            Assert.False(File.Exists(Path.Combine(mirror, "index")));

            // A commit the mirror does not have: the error names the checkout, the directory holds nothing of it.
            var missing = new string('a', 40);
            var e = await Assert.ThrowsAsync<GitException>(() => git.CheckoutAsync(7, missing, Path.Combine(builds, "3"), CancellationToken.None));
            Assert.StartsWith($"git checkout of {missing} failed: ", e.Message);
            Assert.Empty(Directory.EnumerateFileSystemEntries(Path.Combine(builds, "3")));
            Assert.False(File.Exists(Path.Combine(builds, "3.index")));

            // A new URL reaches the mirror's config; the housekeeping the fetch leaves for later runs.
            await git.FetchAsync(7, "file://" + repo.Bare, "main", GitAuth.None, _ => { }, CancellationToken.None);
            Assert.Equal("file://" + repo.Bare, TestRepo.Run(data, "--git-dir", mirror, "config", "remote.origin.url").Trim());
            Assert.Null(await git.MaintainAsync(7, CancellationToken.None));
        }
        finally { Paths.DeleteQuietly(data); }
    }

    [Fact]
    public async Task Newest_commits_are_what_git_merge_base_independent_says()
    {
        using var repo = TestRepo.Empty();
        var data = Paths.NewTempDir("vpspanel-newest-");
        try
        {
            File.WriteAllText(Path.Combine(repo.Work, "f"), "1");
            var root = repo.CommitAll("root");
            File.WriteAllText(Path.Combine(repo.Work, "f"), "2");
            var child = repo.CommitAll("child");
            File.WriteAllText(Path.Combine(repo.Work, "f"), "3");
            var grandchild = repo.CommitAll("grandchild");
            var git = NewGit(data);
            await git.FetchAsync(3, repo.Bare, "main", GitAuth.None, _ => { }, CancellationToken.None);
            // A force push: history diverged from the root; the mirror keeps the earlier commits after the next fetch.
            TestRepo.Run(repo.Work, "reset", "--quiet", "--hard", root);
            File.WriteAllText(Path.Combine(repo.Work, "f"), "rewritten");
            TestRepo.Run(repo.Work, "commit", "--quiet", "-am", "rewritten");
            TestRepo.Run(repo.Work, "push", "--quiet", "--force", "origin", "HEAD:refs/heads/main");
            var rewritten = TestRepo.Run(repo.Work, "rev-parse", "HEAD").Trim();
            await git.FetchAsync(3, repo.Bare, "main", GitAuth.None, _ => { }, CancellationToken.None);
            var never = new string('b', 40);

            foreach (var set in new[] { new[] { root, child, grandchild, rewritten, never }, [root, child], [child, child], [grandchild, root], [rewritten], [never] })
            {
                var (present, newest) = await git.NewestCommitsAsync(3, set, CancellationToken.None);
                var have = set.Where(s => s != never).ToHashSet();
                Assert.Equal(have, present);
                var expected = have.Count == 0 ? [] : TestRepo.Run(data, ["--git-dir", git.MirrorPath(3), "merge-base", "--independent", .. have])
                    .Split('\n', StringSplitOptions.RemoveEmptyEntries).ToHashSet();
                Assert.Equal(expected, newest);
            }
            Assert.Equal(new HashSet<string> { grandchild, rewritten }, (await git.NewestCommitsAsync(3, [root, child, grandchild, rewritten], CancellationToken.None)).Newest);
        }
        finally { Paths.DeleteQuietly(data); }
    }
}
