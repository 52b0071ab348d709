using System.Text;
using VpsPanel.Features.Git;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Git;

/// <summary>Issue 13, part 4: reading a bare repository in process with LibGit2Sharp (no checkout, no git process).</summary>
public sealed class GitRepoTests
{
    /// <summary>A bare repo with a few commits pushed to main; git made them (the CLI), LibGit2Sharp reads them.</summary>
    static (TestRepo Repo, List<string> Shas) RepoWithCommits(int extra)
    {
        var repo = TestRepo.WithBusyboxApp("v1", "git-read-" + Guid.NewGuid().ToString("N")[..8]);
        var shas = new List<string> { TestRepo.Run(repo.Work, "rev-parse", "HEAD").Trim() };
        for (var i = 2; i <= extra + 1; i++)
        {
            File.WriteAllText(Path.Combine(repo.Work, "index.html"), $"v{i}");
            shas.Add(repo.CommitAll($"change number {i}\n\nbody line of {i}"));
        }
        return (repo, shas);
    }

    /// <summary>Commits the raw bytes as the message (git commit -F keeps them as they are, invalid UTF-8 too).</summary>
    static string CommitRawMessage(TestRepo repo, byte[] message, string file)
    {
        File.WriteAllText(Path.Combine(repo.Work, file), Guid.NewGuid().ToString());
        var msgFile = Path.Combine(repo.Dir, "msg-" + Guid.NewGuid().ToString("N"));
        File.WriteAllBytes(msgFile, message);
        TestRepo.Run(repo.Work, "add", "-A");
        TestRepo.Run(repo.Work, "commit", "--quiet", "--cleanup=verbatim", "-F", msgFile);
        TestRepo.Run(repo.Work, "push", "--quiet", "origin", "HEAD:refs/heads/main");
        return TestRepo.Run(repo.Work, "rev-parse", "HEAD").Trim();
    }

    [Fact]
    public void Reads_a_commit_its_files_and_one_file_without_a_checkout()
    {
        var (repo, shas) = RepoWithCommits(1);
        using var _ = repo;
        Directory.CreateDirectory(Path.Combine(repo.Work, "api"));
        File.WriteAllText(Path.Combine(repo.Work, "package.json"), """{"name":"app","scripts":{"build":"vite build"}}""");
        File.WriteAllText(Path.Combine(repo.Work, "api", "go.mod"), "module example.com/api\n\ngo 1.22\n");
        var sha = repo.CommitAll("add package.json and api/go.mod");

        var head = GitRepo.ReadCommit(repo.Bare, "main", null);
        Assert.Equal(sha, head.Sha);
        Assert.Equal("Test Author <author@example.com>", head.Author);
        Assert.Equal("add package.json and api/go.mod", head.Message);
        Assert.Equal(shas[0], GitRepo.ReadCommit(repo.Bare, "main", shas[0]).Sha);
        Assert.Throws<GitException>(() => GitRepo.ReadCommit(repo.Bare, "no-such-branch", null));
        Assert.Throws<GitException>(() => GitRepo.ReadCommit(repo.Bare, "main", new string('a', 40)));
        Assert.Throws<GitException>(() => GitRepo.ReadCommit(Path.Combine(repo.Dir, "missing.git"), "main", null));

        var files = GitRepo.ListFiles(repo.Bare, sha);
        Assert.Contains("package.json", files);
        Assert.Contains("api/go.mod", files);
        Assert.Contains("Dockerfile", files);
        Assert.DoesNotContain("package.json", GitRepo.ListFiles(repo.Bare, shas[0])); // that commit's tree, not the newest
        Assert.Equal("module example.com/api\n\ngo 1.22\n", Encoding.UTF8.GetString(GitRepo.ReadFile(repo.Bare, sha, "api/go.mod")!));
        Assert.Contains("vite build", Encoding.UTF8.GetString(GitRepo.ReadFile(repo.Bare, sha, "package.json")!));
        Assert.Null(GitRepo.ReadFile(repo.Bare, shas[0], "package.json"));
        Assert.Null(GitRepo.ReadFile(repo.Bare, sha, "api")); // a directory is not a file
        Assert.Throws<GitException>(() => GitRepo.ReadFile(repo.Bare, sha, "package.json", maxBytes: 10));
    }

    [Fact]
    public void Lists_the_commits_since_the_live_one_newest_first_with_a_cap()
    {
        var (repo, shas) = RepoWithCommits(5);
        using var _ = repo;
        var range = GitRepo.CommitsBetween(repo.Bare, shas[2], shas[5]);
        Assert.Equal(3, range.Total);
        Assert.Equal([shas[5], shas[4], shas[3]], range.Commits.Select(c => c.Sha));
        Assert.Equal(["change number 6", "change number 5", "change number 4"], range.Commits.Select(c => c.Subject));
        Assert.All(range.Commits, c => Assert.Equal("Test Author <author@example.com>", c.Author));

        var capped = GitRepo.CommitsBetween(repo.Bare, shas[0], shas[5], cap: 2);
        Assert.Equal(5, capped.Total);
        Assert.Equal([shas[5], shas[4]], capped.Commits.Select(c => c.Sha));

        var back = GitRepo.CommitsBetween(repo.Bare, shas[5], shas[2]);
        Assert.Equal(0, back.Total);
        Assert.True(back.NewIsAncestorOfLive);
        var same = GitRepo.CommitsBetween(repo.Bare, shas[5], shas[5]);
        Assert.Equal(0, same.Total);
        Assert.False(same.NewIsAncestorOfLive);
    }

    [Fact]
    public void A_1_MB_message_and_invalid_UTF8_come_back_as_short_valid_strings()
    {
        var (repo, shas) = RepoWithCommits(0);
        using var _ = repo;
        var huge = CommitRawMessage(repo, Encoding.UTF8.GetBytes(new string('x', 1024 * 1024) + "\n"), "a.txt");
        // "caf\xE9 \xFF\xFE <b>" : Latin-1 é and bytes that are never UTF-8, plus a control character.
        var invalid = CommitRawMessage(repo, [.. "caf"u8, 0xE9, (byte)' ', 0xFF, 0xFE, 0x1B, .. " <b>end</b>\n"u8], "b.txt");

        var range = GitRepo.CommitsBetween(repo.Bare, shas[0], invalid);
        Assert.Equal(2, range.Total);
        var bad = range.Commits[0];
        Assert.Equal(invalid, bad.Sha);
        Assert.StartsWith("caf", bad.Subject);
        Assert.EndsWith(" <b>end</b>", bad.Subject);
        Assert.DoesNotContain('\u001B', bad.Subject);
        Assert.Contains('\uFFFD', bad.Subject);
        var big = range.Commits[1];
        Assert.Equal(huge, big.Sha);
        Assert.Equal(GitRepo.MaxSubjectChars + 1, big.Subject.Length);
        Assert.EndsWith("x…", big.Subject);
        Assert.Equal(GitRepo.MaxSubjectChars + 1, GitRepo.ReadCommit(repo.Bare, "main", huge).Message.Length);
    }
}
