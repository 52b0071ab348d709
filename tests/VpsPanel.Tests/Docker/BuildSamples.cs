using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Docker;

/// <summary>
/// Real output of Debian's docker 20.10 on this machine, kept as files (Docker/Samples) so the classifier and the
/// error description are tested on what the builders really print:
///   buildkit-*.txt     DOCKER_BUILDKIT=1 /usr/bin/docker build --progress=plain (a busybox FROM-scratch Dockerfile);
///   classic-api-*.txt  POST /build without BuildKit, its JSON stream turned into lines as BuildProgress logs them;
///   classic-cli-ok.txt DOCKER_BUILDKIT=0 /usr/bin/docker build.
/// </summary>
static class BuildSamples
{
    public static string[] Lines(string name) =>
        File.ReadAllText(Path.Combine(Paths.RepoRoot, "tests", "VpsPanel.Tests", "Docker", "Samples", name)).TrimEnd('\n').Split('\n');
}
