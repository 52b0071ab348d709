using Docker.DotNet;
using VpsPanel.Features.Docker;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Docker;

/// <summary>The panel's container logs against the real engine: framed (no TTY), raw (TTY), the byte cap, a missing container.</summary>
public sealed class ContainerLogsDockerTests : IAsyncLifetime
{
    readonly DockerEngine _engine = TestDocker.Engine();
    DockerClient _docker = null!;
    readonly string _id = Guid.NewGuid().ToString("N")[..8];
    readonly string _dir = Paths.NewTempDir();
    string Tag => $"vpspanel-test/clogs:{_id}";
    string TestName => $"clogs-{_id}";

    public async Task InitializeAsync()
    {
        _docker = await _engine.ClientAsync(CancellationToken.None);
        TestDocker.WriteBusyboxApp(_dir, "unused");
        await _docker.BuildAsync(_dir, "Dockerfile", Tag, TestDocker.Labels(TestName), null, 0, _ => { }, CancellationToken.None);
    }

    public async Task DisposeAsync()
    {
        await TestDocker.RemoveLabelledAsync(_docker, TestName);
        _engine.Dispose();
        Paths.DeleteQuietly(_dir);
    }

    /// <summary>Runs the shell script in a container of the test image and waits until it has exited.</summary>
    async Task<string> RunToEndAsync(string script, bool tty = false)
    {
        var name = $"vpspanel-test-clogs-{_id}-{Guid.NewGuid().ToString("N")[..6]}";
        await _docker.Containers.CreateContainerAsync(new ContainerSpec(name, Tag, TestDocker.Labels(TestName),
            Cmd: ["/bin/busybox", "sh", "-c", script], RestartPolicy: "no", Tty: tty).Parameters(), CancellationToken.None);
        await _docker.Containers.StartContainerAsync(name, null, CancellationToken.None);
        for (var i = 0; i < 200 && (await _docker.Containers.InspectContainerAsync(name, CancellationToken.None)).State.Running; i++) await Task.Delay(100);
        return name;
    }

    static string Text(LogLine l) => l.Text[(l.Text.IndexOf(' ') + 1)..]; // after Docker's timestamp

    [Fact]
    public async Task Stdout_and_stderr_come_back_as_timestamped_lines_each_in_order_and_tail_counts_lines()
    {
        var name = await RunToEndAsync("echo one; echo two >&2; sleep 0.2; echo three; printf 'no newline at the end'");
        var logs = (await _engine.ContainerLogsAsync(name, 100, 1 << 20, CancellationToken.None))!;
        Assert.False(logs.Truncated);
        // Docker copies the two pipes concurrently, so only the order within each stream is given.
        Assert.Equal(["one", "three", "no newline at the end"], logs.Lines.Where(l => l.Stream == "stdout").Select(Text));
        Assert.Equal(["two"], logs.Lines.Where(l => l.Stream == "stderr").Select(Text));
        Assert.All(logs.Lines, l => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z ", l.Text));

        var last2 = (await _engine.ContainerLogsAsync(name, 2, 1 << 20, CancellationToken.None))!;
        Assert.Equal(["three", "no newline at the end"], last2.Lines.Select(Text));
    }

    [Fact]
    public async Task A_TTY_container_is_read_as_raw_text()
    {
        var name = await RunToEndAsync("echo from a tty; echo and its stderr >&2", tty: true);
        var logs = (await _engine.ContainerLogsAsync(name, 100, 1 << 20, CancellationToken.None))!;
        Assert.Equal(["from a tty", "and its stderr"], logs.Lines.Select(Text));
    }

    [Fact]
    public async Task Past_the_byte_cap_the_result_says_truncated_and_holds_the_newest_whole_lines()
    {
        var name = await RunToEndAsync("x=$(printf '%0200d' 0); i=0; while [ $i -lt 2000 ]; do echo \"line $i $x END\"; i=$((i+1)); done");
        var logs = (await _engine.ContainerLogsAsync(name, 5000, 64 * 1024, CancellationToken.None))!;
        Assert.True(logs.Truncated);
        Assert.InRange(logs.Lines.Count, 100, 300); // ~64 KB of ~250-byte lines
        Assert.All(logs.Lines, l => Assert.EndsWith(" END", l.Text));
        Assert.StartsWith("line 1999 ", Text(logs.Lines[^1]));
        Assert.DoesNotContain(logs.Lines, l => Text(l).StartsWith("line 0 "));

        var whole = (await _engine.ContainerLogsAsync(name, 5000, 4 << 20, CancellationToken.None))!;
        Assert.False(whole.Truncated);
        Assert.Equal(2000, whole.Lines.Count);
    }

    [Fact]
    public async Task A_line_longer_than_dockers_16_KB_entries_comes_back_whole_with_one_timestamp()
    {
        // Docker stores this line as two entries, cut inside the secret-like word; the client joins them again.
        var name = await RunToEndAsync("x=$(printf '%016380d' 0); echo \"$x LONG-SECRET-WORD end\"; echo after");
        var logs = (await _engine.ContainerLogsAsync(name, 100, 1 << 20, CancellationToken.None))!;
        Assert.Equal(2, logs.Lines.Count);
        Assert.Equal(new string('0', 16380) + " LONG-SECRET-WORD end", Text(logs.Lines[0]));
        Assert.Equal("after", Text(logs.Lines[1]));
    }

    [Fact]
    public async Task A_container_that_does_not_exist_is_null()
    {
        Assert.Null(await _engine.ContainerLogsAsync($"vpspanel-test-clogs-missing-{_id}", 10, 1 << 20, CancellationToken.None));
    }
}
