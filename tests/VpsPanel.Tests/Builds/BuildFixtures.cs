using VpsPanel.Features.Builds;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Builds;

/// <summary>A small repository made with git (one commit of the given files) and read back as the panel reads it: no checkout.</summary>
public sealed class FixtureRepo : IDisposable
{
    public string Dir { get; } = Paths.NewTempDir("vpspanel-stack-");
    public string Sha { get; }

    public FixtureRepo(IDictionary<string, string> files)
    {
        TestRepo.Run(Dir, "init", "--quiet", "--initial-branch", "main");
        foreach (var (path, text) in files)
        {
            var full = Path.Combine(Dir, path);
            Directory.CreateDirectory(Path.GetDirectoryName(full)!);
            File.WriteAllText(full, text);
        }
        TestRepo.Run(Dir, "add", "-A");
        TestRepo.Run(Dir, "commit", "--quiet", "-m", "fixture");
        Sha = TestRepo.Run(Dir, "rev-parse", "HEAD").Trim();
    }

    public Detection Detect(string baseDir = "") => StackDetection.Detect(StackDetection.Tree.FromCommit(Path.Combine(Dir, ".git"), Sha, baseDir));

    public static Detection Detect(Dictionary<string, string> files, string baseDir = "")
    {
        using var repo = new FixtureRepo(files);
        return repo.Detect(baseDir);
    }

    public void Dispose() => Paths.DeleteQuietly(Dir);
}
