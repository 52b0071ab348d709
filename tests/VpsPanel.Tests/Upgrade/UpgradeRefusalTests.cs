using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Upgrade;

/// <summary>
/// What `vpspanel upgrade` refuses (a binary whose sum does not match, a release without a sum for it, a bad
/// version), each with nothing changed; and `--check` against an older, the same and a newer release.
/// </summary>
public sealed class UpgradeRefusalTests
{
    [Theory]
    [InlineData("wrong sum", "refusing it (nothing was changed)")]
    [InlineData("no sum", "has no SHA-256 for vpspanel-linux-")]
    public async Task A_binary_that_does_not_match_SHA256SUMS_is_refused_and_nothing_changes(string tamper, string says)
    {
        await using var rig = new UpgradeRig(Paths.Binary);
        // A database, so a backup would have been made had the upgrade got that far.
        var users = await rig.VpspanelAsync("user", "list");
        Assert.True(users.ExitCode == 0, users.Stderr);
        // The "new" binary: A's bytes with one more, so its real sum differs from A's.
        var fake = Path.Combine(rig.Root, "fake-binary");
        File.WriteAllBytes(fake, [.. File.ReadAllBytes(Paths.Binary), 0]);
        rig.PublishRelease("99.3.0", fake, sums => tamper == "no sum"
            ? $"{new string('a', 64)}  vpspanel-linux-other\n"
            : $"{UpgradeRig.Sha256(Paths.Binary)}{sums[64..]}");
        await rig.ServeReleasesAsync();
        var before = Snapshot(rig);

        var r = await rig.VpspanelAsync("upgrade");

        Assert.NotEqual(0, r.ExitCode);
        Assert.Contains(says, r.Stderr);
        Assert.Equal(before, Snapshot(rig));
        Assert.False(Directory.Exists(Path.Combine(rig.DataDir, "backups")), "no backup is made for a refused release");
        Assert.False(File.Exists(Path.Combine(rig.BinDir, "panel.pid")), "the restart command never ran");
    }

    [Theory]
    [InlineData("0.0.1", "no")]
    [InlineData(null, "no")]
    [InlineData("+1", "yes")]
    public async Task Check_says_whether_the_newest_release_is_newer(string? latest, string newer)
    {
        await using var rig = new UpgradeRig(Paths.Binary);
        var current = await UpgradeFixtures.VersionOfAsync(rig, Paths.Binary);
        var parts = current.Split('-')[0].Split('.');
        latest = latest switch
        {
            null => current,
            "+1" => $"{parts[0]}.{int.Parse(parts[1]) + 1}.0",
            _ => latest,
        };
        rig.PublishVersionFile($"v{latest}\n");
        await rig.ServeReleasesAsync();
        var before = Snapshot(rig);

        var r = await rig.VpspanelAsync("upgrade", "--check");

        Assert.True(r.ExitCode == 0, r.Stderr);
        Assert.Equal($"current\t{current}\nlatest\t{latest}\nnewer\t{newer}\n", r.Stdout);
        Assert.Equal(before, Snapshot(rig));
    }

    [Fact]
    public async Task Bad_input_and_an_unreadable_release_are_errors_with_nothing_changed()
    {
        await using var rig = new UpgradeRig(Paths.Binary);
        rig.PublishVersionFile("<html>not a version</html>");
        await rig.ServeReleasesAsync();
        var before = Snapshot(rig);

        var check = await rig.VpspanelAsync("upgrade", "--check");
        Assert.True(check.ExitCode == 1 && check.Stderr.Contains("does not hold a version"), $"exit {check.ExitCode}: {check.Stderr}");

        var badVersion = await rig.VpspanelAsync("upgrade", "--version", "1.2;rm");
        Assert.Equal(2, badVersion.ExitCode);
        Assert.Contains("is not a version", badVersion.Stderr);

        // A version the release server does not have: its SHA256SUMS answers 404.
        var missing = await rig.VpspanelAsync("upgrade", "--version", "98.0.0");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("/download/v98.0.0/SHA256SUMS answered HTTP 404", missing.Stderr);

        rig.Env["Release__BaseUrl"] = "ftp://mirror.example";
        var badSetting = await rig.VpspanelAsync("upgrade", "--check");
        Assert.Equal(2, badSetting.ExitCode);
        Assert.Contains("Release:BaseUrl", badSetting.Stderr);
        Assert.Equal(before, Snapshot(rig));
    }

    /// <summary>Every file of the bin and data dirs with its SHA-256.</summary>
    static string Snapshot(UpgradeRig rig) => string.Join("\n",
        new[] { rig.BinDir, rig.DataDir }.SelectMany(d => Directory.GetFiles(d, "*", SearchOption.AllDirectories))
            .Order(StringComparer.Ordinal).Select(f => $"{f} {UpgradeRig.Sha256(f)}"));
}
