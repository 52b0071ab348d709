using System.Diagnostics;

namespace VpsPanel.Tests.Harness;

/// <summary>
/// A local Git repository for deploy tests: a bare repo (what the panel clones, by absolute path) and a working
/// clone the test commits to and pushes from. Git runs with an argument list and a fixed identity.
/// </summary>
public sealed class TestRepo : IDisposable
{
    public string Dir { get; } = Paths.NewTempDir("vpspanel-repo-");
    public string Bare => Path.Combine(Dir, "app.git");
    public string Work => Path.Combine(Dir, "work");
    public string Branch { get; }

    TestRepo(string branch) => Branch = branch;

    /// <summary>A repo whose first commit is the busybox app serving <paramref name="html"/>; images it builds carry vpspanel.test=<paramref name="label"/>.</summary>
    public static TestRepo WithBusyboxApp(string html, string label, string branch = "main", string extraDockerfile = "")
    {
        var r = new TestRepo(branch);
        Run(r.Dir, "init", "--bare", "--quiet", "--initial-branch", branch, r.Bare);
        Run(r.Dir, "init", "--quiet", "--initial-branch", branch, r.Work);
        Run(r.Work, "remote", "add", "origin", r.Bare);
        r.CommitApp(html, label, "v1", extraDockerfile);
        return r;
    }

    /// <summary>A repo with no commit yet: the test writes files into <see cref="Work"/> and calls <see cref="CommitAll"/>.</summary>
    public static TestRepo Empty(string branch = "main")
    {
        var r = new TestRepo(branch);
        Run(r.Dir, "init", "--bare", "--quiet", "--initial-branch", branch, r.Bare);
        Run(r.Dir, "init", "--quiet", "--initial-branch", branch, r.Work);
        Run(r.Work, "remote", "add", "origin", r.Bare);
        return r;
    }

    /// <summary>Rewrites the app (page and Dockerfile), commits and pushes; returns the commit SHA.</summary>
    public string CommitApp(string html, string label, string message, string extraDockerfile = "")
    {
        TestDocker.WriteBusyboxApp(Work, html, extraDockerfile: $"LABEL {TestDocker.TestLabel}={label}\n{extraDockerfile}");
        return CommitAll(message);
    }

    /// <summary>Replaces the Dockerfile with this text, commits and pushes.</summary>
    public string CommitDockerfile(string dockerfile, string message)
    {
        File.WriteAllText(Path.Combine(Work, "Dockerfile"), dockerfile);
        return CommitAll(message);
    }

    public string CommitAll(string message)
    {
        Run(Work, "add", "-A");
        Run(Work, "commit", "--quiet", "-m", message);
        Run(Work, "push", "--quiet", "origin", $"HEAD:refs/heads/{Branch}");
        return Run(Work, "rev-parse", "HEAD").Trim();
    }

    public static string Run(string dir, params string[] args)
    {
        var psi = new ProcessStartInfo("git") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false, WorkingDirectory = dir };
        foreach (var a in args) psi.ArgumentList.Add(a);
        psi.Environment["GIT_AUTHOR_NAME"] = psi.Environment["GIT_COMMITTER_NAME"] = "Test Author";
        psi.Environment["GIT_AUTHOR_EMAIL"] = psi.Environment["GIT_COMMITTER_EMAIL"] = "author@example.com";
        psi.Environment["GIT_CONFIG_GLOBAL"] = "/dev/null";
        using var p = Process.Start(psi)!;
        var stdout = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"git {string.Join(' ', args)} failed: {stderr}");
        return stdout.Result;
    }

    public void Dispose() => Paths.DeleteQuietly(Dir);
}
