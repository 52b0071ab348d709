using VpsPanel.Features.Docker;

namespace VpsPanel.Tests.Docker;

/// <summary>A failed build step's error names the instruction, the exit code and the cause its output showed.</summary>
public sealed class BuildFailureTests
{
    // The instruction is cut at 120 characters: the error is a notification's line, the log has the rest.
    const string Npm = "RUN echo \"installing deps\" && echo \"npm ERR! missing script: build\" >&2 && echo \"npm ERR! A complete log of this run ca…";

    [Fact]
    public void BuildKit_names_the_failing_step_its_exit_code_and_the_npm_cause()
    {
        var lines = BuildSamples.Lines("buildkit-fail.txt");
        Assert.Equal($"{Npm} failed (exit code 1): npm ERR! missing script: build", BuildFailure.Describe(lines, lines[^1]));
        // The error the engine gave the CLI is the same "executor failed running" line; the step's own ERROR line suffices too.
        Assert.Equal($"{Npm} failed (exit code 1): npm ERR! missing script: build", BuildFailure.Describe(lines, "failed to solve: exit status 1"));
    }

    [Fact]
    public void BuildKit_takes_the_cause_from_the_failing_step_only_not_an_earlier_steps_traceback()
    {
        var lines = BuildSamples.Lines("buildkit-notfound.txt");
        Assert.Equal("RUN printf '\\033[1;33mwarning\\033[0m: about to fail\\n'; foo --version failed (exit code 127): /bin/sh: foo: not found",
            BuildFailure.Describe(lines, lines[^1]));
    }

    [Fact]
    public void Classic_builder_names_the_step_and_the_cause_from_its_coloured_stderr()
    {
        var lines = BuildSamples.Lines("classic-api-fail.txt");
        var error = lines[^1]["ERROR: ".Length..];
        Assert.Equal($"{Npm} failed (exit code 1): npm ERR! missing script: build", BuildFailure.Describe(lines[..^1], error));
        // With the "ERROR: …" line itself among the recent lines (as BuildProgress keeps them) and with log timestamps.
        var stamped = lines.Select(l => "2026-12-01T13:36:21.123Z " + l).ToList();
        Assert.Equal($"{Npm} failed (exit code 1): npm ERR! missing script: build", BuildFailure.Describe(stamped, error));
    }

    [Fact]
    public void Modern_npm_and_python_and_no_output()
    {
        string[] npm =
        [
            "#8 [4/5] RUN npm ci",
            "#8 sha256:d555cea4742c0bf6f8be106d0e7578164ab54ccafc7f1a14712389a45d73b066",
            "#8 0.912 npm error code EUSAGE",
            "#8 0.913 npm error",
            "#8 0.913 npm error The `npm ci` command can only install with an existing package-lock.json or",
            "#8 0.913 npm error npm-shrinkwrap.json with lockfileVersion >= 1.",
            "#8 0.915 npm error A complete log of this run can be found in: /root/.npm/_logs/2026-12-01T13_36_21_123Z-debug-0.log",
            "#8 ERROR: process \"/bin/sh -c npm ci\" did not complete successfully: exit code: 1",
        ];
        Assert.Equal("RUN npm ci failed (exit code 1): npm error The `npm ci` command can only install with an existing package-lock.json or",
            BuildFailure.Describe(npm, "failed to solve: process \"/bin/sh -c npm ci\" did not complete successfully: exit code: 1"));

        string[] python =
        [
            "Step 3/4 : RUN python -c 'import flask'",
            " ---> Running in 4ace5cb07416",
            "\u001b[91mTraceback (most recent call last):",
            "  File \"<string>\", line 1, in <module>",
            "ModuleNotFoundError: No module named 'flask'",
            "\u001b[0m",
        ];
        Assert.Equal("RUN python -c 'import flask' failed (exit code 1): ModuleNotFoundError: No module named 'flask'",
            BuildFailure.Describe(python, "The command '/bin/sh -c python -c 'import flask'' returned a non-zero code: 1"));

        string[] silent = ["Step 2/2 : RUN false", " ---> Running in 4ace5cb07416"];
        Assert.Equal("RUN false failed (exit code 1)", BuildFailure.Describe(silent, "The command '/bin/sh -c false' returned a non-zero code: 1"));
        // No header in the recent lines: the instruction comes from the command itself.
        Assert.Equal("RUN make all failed (exit code 2)", BuildFailure.Describe([], "The command '/bin/sh -c make all' returned a non-zero code: 2"));
    }

    [Fact]
    public void Other_failures_keep_the_builders_words_without_colours()
    {
        string[] lines = ["Step 2/2 : COPY does-not-exist /x"];
        const string copy = "COPY failed: file not found in build context or excluded by .dockerignore: stat does-not-exist: file does not exist";
        Assert.Null(BuildFailure.TryDescribe(lines, copy));
        Assert.Equal(copy, BuildFailure.Describe(lines, copy));
        Assert.Equal("dockerfile parse error", BuildFailure.Describe([], "\u001b[31mdockerfile parse error\u001b[0m"));
    }
}
