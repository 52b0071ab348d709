using VpsPanel.Features.Docker;

namespace VpsPanel.Tests.Deployments;

/// <summary>The build stream's pieces joined into whole lines (the real-engine case is in VariableDeployTests).</summary>
public sealed class BuildOutputLinesTests
{
    static List<string> Lines(params string[] pieces)
    {
        var lines = new List<string>();
        var output = new BuildOutputLines(lines.Add);
        foreach (var p in pieces) output.Add(p);
        output.Flush();
        return lines;
    }

    [Fact]
    public void A_line_in_several_pieces_comes_out_whole() =>
        Assert.Equal(["token=abcdef123456", "next"], Lines("token=abc", "def", "123456\nne", "xt\n"));

    [Fact]
    public void Several_lines_in_one_piece_come_out_one_by_one_and_empty_lines_are_kept() =>
        Assert.Equal(["a", "", "b"], Lines("a\n\nb\n"));

    [Fact]
    public void An_unfinished_last_line_is_passed_on_at_the_end() =>
        Assert.Equal(["Step 1/2 : FROM scratch", "no newline"], Lines("Step 1/2 : FROM scratch\n", "no ", "newline"));

    [Fact]
    public void Flush_passes_on_the_pending_part_before_a_message_of_another_kind()
    {
        var lines = new List<string>();
        var output = new BuildOutputLines(lines.Add);
        output.Add("half");
        output.Flush();
        lines.Add("ERROR: it broke");
        output.Flush();
        Assert.Equal(["half", "ERROR: it broke"], lines);
    }

    [Fact]
    public void Output_that_never_ends_a_line_is_passed_on_in_bounded_pieces()
    {
        var lines = new List<string>();
        var output = new BuildOutputLines(lines.Add);
        var chunk = new string('x', 64 * 1024);
        for (var i = 0; i < 40; i++) output.Add(chunk);
        output.Flush();
        Assert.All(lines, l => Assert.True(l.Length <= BuildOutputLines.MaxPendingChars + chunk.Length));
        Assert.Equal(40 * chunk.Length, lines.Sum(l => l.Length));
        Assert.True(lines.Count >= 2);
    }
}
