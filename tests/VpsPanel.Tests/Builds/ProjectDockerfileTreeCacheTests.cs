using VpsPanel.Features.Builds;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Builds;

/// <summary>
/// The project page and the API show the branch head's Dockerfile at every view; the commit's tree is listed once
/// per commit (and base directory), not at every view (ProjectDockerfile.TreeOf).
/// </summary>
public sealed class ProjectDockerfileTreeCacheTests
{
    [Fact]
    public void A_commits_tree_is_listed_once_and_a_new_commit_or_another_base_directory_gets_its_own()
    {
        using var repo = TestRepo.Empty();
        File.WriteAllText(Path.Combine(repo.Work, "index.html"), "v1");
        Directory.CreateDirectory(Path.Combine(repo.Work, "web"));
        File.WriteAllText(Path.Combine(repo.Work, "web", "package.json"), "{}");
        var first = repo.CommitAll("first");

        var tree = ProjectDockerfile.TreeOf(repo.Bare, first, "");
        Assert.Equal(["index.html", "web/package.json"], tree.Files.Order(StringComparer.Ordinal));
        Assert.Same(tree, ProjectDockerfile.TreeOf(repo.Bare, first, ""));
        Assert.Equal(["package.json"], ProjectDockerfile.TreeOf(repo.Bare, first, "web").Files);

        File.WriteAllText(Path.Combine(repo.Work, "about.html"), "about");
        var second = repo.CommitAll("second");
        var next = ProjectDockerfile.TreeOf(repo.Bare, second, "");
        Assert.NotSame(tree, next);
        Assert.Contains("about.html", next.Files);
        // The older commit's tree is still held (the cache is bounded by file names, and these are few).
        Assert.Same(tree, ProjectDockerfile.TreeOf(repo.Bare, first, ""));
    }
}
