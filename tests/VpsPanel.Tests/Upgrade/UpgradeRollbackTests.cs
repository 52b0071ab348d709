using VpsPanel.Tests.Harness;
using Xunit.Abstractions;

namespace VpsPanel.Tests.Upgrade;

/// <summary>An upgrade to a release whose binary exits at start puts the previous binary back and restarts it.</summary>
public sealed class UpgradeRollbackTests(ITestOutputHelper output)
{
    [Fact]
    public async Task An_upgrade_to_a_binary_that_exits_at_start_rolls_back_to_A_and_says_so()
    {
        // A short wait for the broken one; A itself gets at least 90 s to come back (UpgradeCommand).
        await using var rig = new UpgradeRig(Paths.Binary, healthTimeoutSeconds: 10);
        var versionA = await UpgradeFixtures.VersionOfAsync(rig, Paths.Binary);
        // A real executable with a valid sum that fails the way a bad release would: it exits 1 at start.
        var broken = Path.Combine(rig.Root, "broken");
        File.WriteAllText(broken, "#!/bin/sh\necho 'broken release: exiting at start' >&2\nexit 1\n");
        File.SetUnixFileMode(broken, (UnixFileMode)0b111_101_101);
        rig.PublishRelease("99.2.0", broken);
        await rig.ServeReleasesAsync();
        await rig.StartPanelAsync();

        var r = await rig.VpspanelAsync("upgrade");
        output.WriteLine(r.Stdout + r.Stderr);

        Assert.Equal(1, r.ExitCode);
        Assert.Contains($"version 99.2.0 did not answer {rig.Url}/healthz within 10 seconds", r.Stderr);
        Assert.Contains($"rolled back to {versionA} ({rig.Binary}); it answers {rig.Url}/healthz again", r.Stderr);
        // The broken binary really was installed and started, and A is the binary again and answers.
        Assert.Contains("broken release: exiting at start", rig.PanelLog);
        Assert.Equal(UpgradeRig.Sha256(Paths.Binary), UpgradeRig.Sha256(rig.Binary));
        Assert.Equal($"vpspanel {versionA}", (await rig.VpspanelAsync("version")).Stdout.Trim());
        Assert.True(await rig.AnswersHealthzAsync(TimeSpan.FromSeconds(5)));
        Assert.Empty(Directory.GetFiles(rig.BinDir, ".vpspanel*"));
    }
}
