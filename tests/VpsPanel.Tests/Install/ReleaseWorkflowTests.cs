using System.Text.RegularExpressions;
using VpsPanel.Tests.Harness;
using YamlDotNet.RepresentationModel;

namespace VpsPanel.Tests.Install;

/// <summary>
/// The release workflow cannot run here (it runs on GitHub), and actionlint is not in Debian: so its YAML is parsed,
/// what it does on a tag is checked, every script it runs must exist in the checkout, and the scripts pass shellcheck.
/// </summary>
public sealed partial class ReleaseWorkflowTests
{
    static readonly string WorkflowPath = Path.Combine(Paths.RepoRoot, ".github", "workflows", "release.yml");

    [Fact]
    public void The_workflow_runs_on_version_tags_tests_first_and_every_script_it_runs_exists()
    {
        var yaml = new YamlStream();
        using (var reader = new StreamReader(WorkflowPath)) yaml.Load(reader);
        var root = (YamlMappingNode)yaml.Documents.Single().RootNode;

        var tags = (YamlSequenceNode)Map(Map(root, "on"), "push")[new YamlScalarNode("tags")];
        Assert.Equal(new[] { "v*" }, tags.Children.Select(t => ((YamlScalarNode)t).Value));

        var jobs = Map(root, "jobs");
        var test = Map(jobs, "test");
        var release = Map(jobs, "release");
        Assert.Equal("test", Scalar(release, "needs"));
        // Only the release job may write (create the release); the tests get a read-only token.
        Assert.Equal("read", Scalar(Map(root, "permissions"), "contents"));
        Assert.Equal("write", Scalar(Map(release, "permissions"), "contents"));

        var runs = new List<string>();
        foreach (var (name, job) in jobs.Children.Select(j => (((YamlScalarNode)j.Key).Value!, (YamlMappingNode)j.Value)))
        {
            var steps = (YamlSequenceNode)job[new YamlScalarNode("steps")];
            Assert.NotEmpty(steps.Children);
            var before = runs.Count;
            foreach (var step in steps.Children.Cast<YamlMappingNode>())
            {
                if (step.Children.TryGetValue(new YamlScalarNode("uses"), out var uses))
                    // Only GitHub's own checkout and setup-dotnet, each pinned to an exact release.
                    Assert.Matches(@"^actions/(checkout|setup-dotnet)@v\d+\.\d+\.\d+$", ((YamlScalarNode)uses).Value);
                else
                    runs.Add(Scalar(step, "run"));
            }
            Assert.True(runs.Count > before, $"job {name} runs nothing");
        }

        // The README's test command, then the release scripts with the tag.
        Assert.Contains("bash tests/run.sh", runs);
        Assert.Contains(runs, r => r.Contains("VERSION=\"$GITHUB_REF_NAME\" bash release/build.sh dist"));
        Assert.Contains("bash release/upload.sh \"$GITHUB_REF_NAME\" dist", runs);
        Assert.Contains("${{ secrets.GITHUB_TOKEN }}", File.ReadAllText(WorkflowPath));

        var referenced = runs.SelectMany(r => ScriptPath().Matches(r).Select(m => m.Value)).Distinct().ToList();
        Assert.Equal(new[] { "tests/run.sh", "release/build.sh", "release/upload.sh" }, referenced);
        foreach (var script in referenced)
            Assert.True(File.Exists(Path.Combine(Paths.RepoRoot, script)), $"{script}, run by the workflow, is not in the checkout");
        // What build.sh publishes from and copies, so the release cannot be missing a part.
        foreach (var file in new[] { "VpsPanel.csproj", "install.sh" })
            Assert.True(File.Exists(Path.Combine(Paths.RepoRoot, file)));
    }

    [Fact]
    public async Task Shellcheck_finds_nothing_in_the_release_scripts()
    {
        var scripts = Directory.GetFiles(Path.Combine(Paths.RepoRoot, "release"), "*.sh").Order().ToArray();
        Assert.Equal(new[] { "build.sh", "upload.sh" }, scripts.Select(Path.GetFileName));
        var r = await TestDebian.RunAsync("shellcheck", scripts);
        Assert.True(r.ExitCode == 0, r.All);
        Assert.Equal("", r.All.Trim());
    }

    static YamlMappingNode Map(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlMappingNode m ? m : throw new Xunit.Sdk.XunitException($"no mapping '{key}' in the workflow");

    static string Scalar(YamlMappingNode node, string key) =>
        node.Children.TryGetValue(new YamlScalarNode(key), out var v) && v is YamlScalarNode s ? s.Value! : throw new Xunit.Sdk.XunitException($"no value '{key}' in the workflow");

    [GeneratedRegex(@"(?<![\w/.-])(?:tests|release|bench|\.github)/[\w./-]+\.sh\b")]
    private static partial Regex ScriptPath();
}
