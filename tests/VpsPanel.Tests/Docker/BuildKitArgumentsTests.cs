using VpsPanel.Features.Docker;

namespace VpsPanel.Tests.Docker;

/// <summary>The docker CLI's command line and the build error wording (no engine needed).</summary>
public sealed class BuildKitArgumentsTests
{
    static BuildRequest Request(string? target = null) => new("/ctx", "/ctx", null, "docker/Dockerfile", "vpspanel/p-app:7",
        new Dictionary<string, string> { ["vpspanel.deployment"] = "7" },
        new Dictionary<string, string> { ["NODE_ENV"] = "production-value", ["DOCKER_HOST_ARG"] = "x" },
        new Dictionary<string, string> { ["API_TOKEN"] = "secret-value" }, target, 0);

    [Fact]
    public void Labels_targets_arguments_and_secrets_are_flags_and_no_value_of_a_variable_or_secret_is_on_the_command_line()
    {
        var args = BuildKitBuild.Arguments(Request("web"), "/tmp/secrets");
        Assert.Equal(["build", "--progress=plain", "--tag", "vpspanel/p-app:7", "--file", "docker/Dockerfile",
            "--label", "vpspanel.deployment=7", "--target", "web", "--build-arg", "NODE_ENV", "--build-arg", "DOCKER_HOST_ARG=x",
            "--secret", "id=API_TOKEN,src=/tmp/secrets/API_TOKEN", "-"], args);
        Assert.DoesNotContain(args, a => a.Contains("production-value") || a.Contains("secret-value"));
        Assert.DoesNotContain("--target", BuildKitBuild.Arguments(Request(), "/tmp/secrets"));
    }

    [Theory]
    [InlineData("# syntax=docker/dockerfile:1\nFROM scratch\n", "docker/dockerfile:1", 1)]
    [InlineData("# escape=`\n#syntax = example/frontend:2\nFROM scratch\n", "example/frontend:2", 2)]
    [InlineData("# a comment\n# syntax=docker/dockerfile:1\nFROM scratch\n", null, 0)]
    [InlineData("FROM scratch\n# syntax=docker/dockerfile:1\n", null, 0)]
    public void A_syntax_directive_counts_only_at_the_top(string dockerfile, string? image, int line)
    {
        var found = BuildError.SyntaxOf(dockerfile);
        Assert.Equal(image, found?.Image);
        if (image is not null) Assert.Equal(line, found!.Value.Line);
    }

    [Fact]
    public void A_failed_step_is_named_and_a_missing_stage_is_named_as_the_projects_setting()
    {
        // A failed RUN step is named with its exit code (BuildFailure); here the output gives no cause beyond that.
        Assert.Equal("RUN false failed (exit code 1)",
            BuildError.Explain(["#5 ERROR: executor failed running [/bin/sh -c false]: exit code: 1", "executor failed running [/bin/sh -c false]: exit code: 1", ""], Request(), false, 1));
        Assert.StartsWith("the build target \"web\" (project setting) does not exist",
            BuildError.Explain(["failed to solve with frontend dockerfile.v0: failed to create LLB definition: target stage web could not be found"], Request("web"), false, 1));
        Assert.StartsWith("a build step ran out of memory", BuildError.Explain(["exit code: 137"], Request() with { MemoryBytes = 64L << 20 }, true, 1));
    }
}
