using VpsPanel.Features.Docker;

namespace VpsPanel.Tests.Docker;

/// <summary>Builder chatter told from step headers, the app's output and errors, on real output of both builders.</summary>
public sealed class BuildChatterTests
{
    static string[] Visible(string sample) => BuildSamples.Lines(sample).Where(l => l.Trim().Length > 0 && !BuildChatter.IsChatter(l)).ToArray();

    [Fact]
    public void BuildKit_a_cached_build_shows_only_its_step_headers()
    {
        Assert.Equal(
            [
                "#3 [1/3] COPY busybox /bin/busybox",
                "#4 [2/3] RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]",
                "#5 [3/3] RUN printf '\\033[31mred\\033[0m plain \\033[1;32mbold green\\033[0m\\n'",
            ],
            Visible("buildkit-ok.txt"));
    }

    [Fact]
    public void BuildKit_a_failed_build_keeps_headers_output_and_the_error_block()
    {
        var visible = Visible("buildkit-fail.txt");
        Assert.Equal(
            [
                "#3 [1/4] COPY busybox /bin/busybox",
                "#4 [2/4] RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]",
                "#5 [3/4] RUN printf '\\033[31mred\\033[0m plain \\033[1;32mbold green\\033[0m\\n'",
                "#5 1.004 \u001b[31mred\u001b[0m plain \u001b[1;32mbold green\u001b[0m",
                "#6 [4/4] RUN echo \"installing deps\" && echo \"npm ERR! missing script: build\" >&2 && echo \"npm ERR! A complete log of this run can be found in: /root/.npm/x.log\" >&2 && exit 1",
                "#6 1.079 installing deps",
                "#6 1.086 npm ERR! missing script: build",
                "#6 1.086 npm ERR! A complete log of this run can be found in: /root/.npm/x.log",
            ],
            visible.Take(8));
        Assert.StartsWith("#6 ERROR: executor failed running [/bin/sh -c echo", visible[8]);
        Assert.Equal("------", visible[9]);
        Assert.StartsWith(" > [4/4] RUN echo", visible[10]);
        Assert.Equal(13, visible.Length);
    }

    [Fact]
    public void Classic_builder_through_the_API_shows_steps_and_output_not_its_containers()
    {
        Assert.Equal(
            [
                "Step 1/4 : FROM scratch",
                "Step 2/4 : COPY busybox /bin/busybox",
                "Step 3/4 : RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]",
                "Step 4/4 : RUN printf '\\033[31mred\\033[0m plain \\033[1;32mbold green\\033[0m\\n'",
                "\u001b[31mred\u001b[0m plain \u001b[1;32mbold green\u001b[0m",
            ],
            Visible("classic-api-ok.txt"));
        var failed = Visible("classic-api-fail.txt");
        Assert.Contains("\u001b[91mnpm ERR! missing script: build", failed);
        Assert.Contains("\u001b[0minstalling deps", failed);
        Assert.DoesNotContain(failed, l => l.StartsWith(" --->") || l.StartsWith("Removing intermediate container"));
        Assert.StartsWith("ERROR: The command '/bin/sh -c echo", failed[^1]);
    }

    [Fact]
    public void Classic_builder_through_the_CLI_folds_its_cache_lines_and_summary()
    {
        Assert.Equal(
            ["Step 1/4 : FROM scratch", "Step 2/4 : COPY busybox /bin/busybox", "Step 3/4 : RUN [\"/bin/busybox\", \"--install\", \"-s\", \"/bin\"]",
             "Step 4/4 : RUN printf '\\033[31mred\\033[0m plain \\033[1;32mbold green\\033[0m\\n'"],
            Visible("classic-cli-ok.txt"));
    }

    [Theory]
    [InlineData("2026-12-01T13:36:21.123Z #2 DONE 0.1s", true)]
    [InlineData("2026-12-01T13:36:21.123Z #7 writing image sha256:9c690aef7aada4528696009023f4fdce81821e86f8eb7de5b6cff18de5d37299 done", true)]
    [InlineData("#7 naming to docker.io/library/buildlogs-sample:bk done", true)]
    [InlineData("#2 [internal] load metadata for docker.io/library/node:20", true)]
    [InlineData("#9 exporting layers 0.1s done", true)]
    [InlineData(" ---> Running in 1a2b3c4d5e6f", true)]
    [InlineData(" ---> 1a2b3c4d5e6f", true)]
    [InlineData("a3ed95caeb02: Pull complete", true)]
    // The panel's own lines, the app's output and errors are never chatter.
    [InlineData("2026-12-01T13:36:21.123Z ==> building", false)]
    [InlineData("building vpspanel/abc-app:7 (memory limit 2048 MiB, timeout 30 min)", false)]
    [InlineData("#6 1.086 npm ERR! missing script: build", false)]
    [InlineData("#8 [build 2/5] RUN npm ci", false)]
    [InlineData("#6 ERROR: executor failed running [/bin/sh -c false]: exit code: 1", false)]
    [InlineData("Step 2/5 : RUN npm ci", false)]
    [InlineData("DONE", false)]
    [InlineData("", false)]
    public void One_line(string line, bool chatter) => Assert.Equal(chatter, BuildChatter.IsChatter(line));

    [Fact]
    public void How_much_of_each_sample_is_chatter()
    {
        // Measured on the real samples (non-empty lines 27, 32, 15, 20, 14): the page folds these; issue 14 counted 22–38 per build.
        string[] samples = ["buildkit-ok.txt", "buildkit-fail.txt", "classic-api-ok.txt", "classic-api-fail.txt", "classic-cli-ok.txt"];
        Assert.Equal([24, 19, 10, 10, 10], samples.Select(s => BuildSamples.Lines(s).Count(BuildChatter.IsChatter)));
    }
}
