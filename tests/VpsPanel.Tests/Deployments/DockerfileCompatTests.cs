using VpsPanel.Features.Docker;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Deployments;

/// <summary>
/// Issue 14: a Dockerfile as `docker init` writes it (`# syntax=docker/dockerfile:1`, heredocs) builds on an engine
/// whose built-in frontend has no heredocs and a server that cannot pull the frontend (DockerfileCompat).
/// </summary>
public sealed class DockerfileCompatTests
{
    static string Rewritten(string dockerfile, bool dropSyntax = false)
    {
        var (r, problem) = DockerfileCompat.Rewrite(dockerfile, dropSyntax);
        Assert.True(r is not null, problem);
        return r!.Dockerfile;
    }

    static string Problem(string dockerfile, bool dropSyntax = false)
    {
        var (r, problem) = DockerfileCompat.Rewrite(dockerfile, dropSyntax);
        Assert.Null(r);
        return problem!;
    }

    [Theory]
    [InlineData("docker/dockerfile:1", true)]
    [InlineData("docker/dockerfile:1.4", true)]
    [InlineData("docker/dockerfile:1.7.1", true)]
    [InlineData("docker/dockerfile:1-labs", true)]
    [InlineData("docker.io/docker/dockerfile:1.6-labs", true)]
    [InlineData("docker/dockerfile:2", false)]
    [InlineData("docker/dockerfile:latest", false)]
    [InlineData("example.invalid/frontend:1", false)]
    [InlineData("evil.example/docker/dockerfile:1", false)]
    public void Only_the_official_frontend_falls_back(string image, bool official) =>
        Assert.Equal(official, DockerfileCompat.IsOfficialFrontend(image));

    [Fact]
    public void The_syntax_line_is_removed_and_an_escape_directive_after_it_stays_a_directive() =>
        Assert.Equal("# escape=\\\nFROM scratch\n", Rewritten("# syntax=docker/dockerfile:1\n# escape=\\\nFROM scratch\n", dropSyntax: true));

    [Fact]
    public void A_Dockerfile_without_heredocs_is_unchanged_apart_from_the_directive() =>
        Assert.Equal("FROM scratch\nRUN a \\\n  b\n", Rewritten("# syntax=docker/dockerfile:1.4\nFROM scratch\nRUN a \\\n  b\n", dropSyntax: true));

    [Fact]
    public void A_heredoc_RUN_becomes_the_shell_running_the_body_with_its_flags_kept() =>
        Assert.Equal("FROM x\nRUN --mount=type=cache,target=/c [\"/bin/sh\",\"-c\",\"echo \\\"a\\\" > /f\\ncd /c && ls\\n\"]\nCMD x",
            Rewritten("FROM x\nRUN --mount=type=cache,target=/c <<EOF\necho \"a\" > /f\ncd /c && ls\nEOF\nCMD x"));

    [Fact]
    public void Flags_on_continuation_lines_and_a_dash_heredoc_strip_tabs() =>
        Assert.Equal("FROM x\nRUN --network=none [\"/bin/sh\",\"-c\",\"a\\n  b\\n\"]",
            Rewritten("FROM x\nRUN --network=none \\\n    <<-'END'\n\ta\n\t  b\n\tEND"));

    [Fact]
    public void The_SHELL_in_effect_runs_the_body_and_a_stage_built_from_a_stage_keeps_it()
    {
        var text = Rewritten("FROM x AS base\nSHELL [\"/bin/bash\", \"-eo\", \"pipefail\", \"-c\"]\nFROM base AS two\nRUN <<EOF\nx\nEOF\nFROM y\nRUN <<EOF\nz\nEOF\n");
        Assert.Contains("RUN [\"/bin/bash\",\"-eo\",\"pipefail\",\"-c\",\"x\\n\"]", text);
        Assert.Contains("RUN [\"/bin/sh\",\"-c\",\"z\\n\"]", text);
    }

    [Fact]
    public void A_heredoc_inside_a_command_is_left_to_the_shell_with_its_delimiters() =>
        Assert.Equal("FROM x\nRUN [\"/bin/sh\",\"-c\",\"python3 <<'PY' > /out\\nprint('$HOME')\\nPY\"]\nCMD y",
            Rewritten("FROM x\nRUN python3 <<'PY' > /out\nprint('$HOME')\nPY\nCMD y"));

    [Fact]
    public void Two_heredocs_in_one_RUN_keep_their_order() =>
        Assert.Equal("FROM x\nRUN [\"/bin/sh\",\"-c\",\"cat <<A > /a && cat <<B > /b\\n1\\nA\\n2\\nB\"]",
            Rewritten("FROM x\nRUN cat <<A > /a && cat <<B > /b\n1\nA\n2\nB"));

    [Fact]
    public void COPY_heredocs_become_files_named_after_the_delimiter()
    {
        var (r, problem) = DockerfileCompat.Rewrite("FROM x\nCOPY --chown=1000 <<a.txt <<\"B\" /dir/\nhello\na.txt\n$world\nB\nRUN true\n", false);
        Assert.True(r is not null, problem);
        Assert.Equal("FROM x\nCOPY --chown=1000 .vpspanel-heredoc/0/a.txt .vpspanel-heredoc/1/B /dir/\nRUN true\n", r!.Dockerfile);
        Assert.Equal([(".vpspanel-heredoc/0/a.txt", "hello\n"), (".vpspanel-heredoc/1/B", "$world\n")], r.Files);
    }

    [Theory]
    [InlineData("FROM x\nRUN <<EOF\n#!/usr/bin/env python3\nprint(1)\nEOF\n", "#!")]
    [InlineData("FROM x\nCOPY <<EOF /f\n$HOME\nEOF\n", "BuildKit would expand it")]
    [InlineData("FROM x\nADD <<EOF /f\nx\nEOF\n", "ADD with a heredoc")]
    [InlineData("FROM x\nCOPY --from=y <<EOF /f\nx\nEOF\n", "COPY --from")]
    [InlineData("FROM x\nCOPY <<EOF other /f\nx\nEOF\n", "mixes heredocs")]
    [InlineData("FROM x\nRUN <<EOF\nx\n", "never closed")]
    [InlineData("FROM x\nSHELL bash -c\nRUN <<EOF\nx\nEOF\n", "SHELL the panel cannot read")]
    [InlineData("# escape=`\nFROM x\nRUN <<EOF\nx\nEOF\n", "escape")]
    public void What_cannot_be_translated_exactly_is_named(string dockerfile, string problem) =>
        Assert.Contains(problem, Problem(dockerfile));

    [Fact]
    public void A_problem_names_the_line_of_the_repository_s_Dockerfile_with_the_removed_directive_counted() =>
        Assert.StartsWith("line 3: ADD", Problem("# syntax=docker/dockerfile:1\nFROM x\nADD <<EOF /f\nx\nEOF\n", dropSyntax: true));

    [Fact]
    public async Task The_issue_Dockerfile_with_a_syntax_line_heredocs_a_cache_mount_USER_before_WORKDIR_and_an_unused_stage_builds_and_serves()
    {
        await using var env = await DeployEnv.StartAsync();
        using var repo = TestRepo.WithBusyboxApp("v1", env.Label);
        var domain = $"{env.Name()}.test";
        var project = await env.CreateProjectAsync(repo, domain);
        var cache = "/cache-" + env.Label;
        repo.CommitDockerfile($$"""
            # syntax=docker/dockerfile:1
            FROM scratch AS unused
            COPY busybox /bin/busybox
            RUN ["/bin/busybox", "echo", "UNUSED", "STAGE-{{env.Label}}-RAN"]

            FROM scratch
            COPY busybox /bin/busybox
            SHELL ["/bin/busybox", "sh", "-c"]
            LABEL vpspanel.test={{env.Label}}
            COPY <<"EOF" /www/note.txt
            copied by a heredoc, $HOME as written
            EOF
            RUN --mount=type=cache,target={{cache}} <<EOF
            echo run >> {{cache}}/runs
            echo cache-mount-lines=$(/bin/busybox wc -l < {{cache}}/runs)
            /bin/busybox cat /www/note.txt > /www/index.html
            echo "made by a heredoc RUN {{env.Label}}" >> /www/index.html
            EOF
            RUN /bin/busybox tee /www/stdin.txt <<EOF
            read from stdin
            EOF
            USER 1000:1000
            WORKDIR /app
            RUN /bin/busybox touch /app/written && echo workdir-owner=$(/bin/busybox stat -c %u /app)
            CMD ["/bin/busybox", "httpd", "-f", "-p", "8080", "-h", "/www"]

            """, "docker init style Dockerfile");

        var id = await env.DeployAsync(project);
        var log = "";
        Assert.True(await env.WaitForEndAsync(id, TimeSpan.FromMinutes(4)) == "live", log = await env.LogAsync(id));
        log = await env.LogAsync(id);
        Assert.Contains("the frontend docker/dockerfile:1 could not be pulled; building with the engine's built-in Dockerfile frontend", log);
        Assert.Matches(@"cache-mount-lines=\d+", log);
        Assert.Contains("workdir-owner=1000", log);
        // Its echo would print the two words joined; the Dockerfile's text (logged with the rewrite) has them apart.
        Assert.DoesNotContain($"UNUSED STAGE-{env.Label}-RAN", log);
        Assert.Equal($"copied by a heredoc, $HOME as written\nmade by a heredoc RUN {env.Label}", await env.ServedAsync(domain));
        using var stdin = await env.Caddy.GetAsync(domain, "/stdin.txt");
        Assert.Equal("read from stdin\n", await stdin.Content.ReadAsStringAsync());
    }
}
