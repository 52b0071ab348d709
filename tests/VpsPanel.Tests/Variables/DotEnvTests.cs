using VpsPanel.Features.Variables;

namespace VpsPanel.Tests.Variables;

public sealed class DotEnvTests
{
    public static TheoryData<string, string, string> Cases => new()
    {
        { "A=1", "A", "1" },
        { "  A = spaced value  ", "A", "spaced value" },
        { "export A=1", "A", "1" },
        { "A=", "A", "" },
        { "A=value # a comment", "A", "value" },
        { "COLOUR=#fff", "COLOUR", "#fff" },
        { "A='single $NOT \\n escaped'", "A", "single $NOT \\n escaped" },
        { "A=\"double \\\"quoted\\\" \\n line\"", "A", "double \"quoted\" \n line" },
        { "A=\"tab\\there\\\\\"", "A", "tab\there\\" },
        { "A=\"multi\nline\nvalue\"", "A", "multi\nline\nvalue" },
        { "A='multi\nline'", "A", "multi\nline" },
        { "A=\"x\" # comment after quotes", "A", "x" },
        { "A=a=b=c", "A", "a=b=c" },
        { "_UNDER_9=x", "_UNDER_9", "x" },
        { "A=\"unknown \\q escape\"", "A", "unknown \\q escape" },
        { "# comment\n\n   \nA=1\r\n", "A", "1" },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Parses(string text, string key, string value)
    {
        var r = DotEnv.Parse(text);
        Assert.Empty(r.Errors);
        var e = Assert.Single(r.Entries);
        Assert.Equal(key, e.Key);
        Assert.Equal(value, e.Value);
    }

    [Theory]
    [InlineData("A=1\n1BAD=2", "line 2", "not a valid key")]
    [InlineData("A=1\nBAD-KEY=2", "line 2", "not a valid key")]
    [InlineData("A=1\nB=2\nA=3", "line 3", "A is already set on line 1")]
    [InlineData("A=1\nno equals here", "line 2", "no '='")]
    [InlineData("A=1\nB=\"never closed\nC=3", "line 2", "never closed")]
    [InlineData("A='x' trailing", "line 1", "unexpected text")]
    [InlineData("=value", "line 1", "the key is empty")]
    public void Errors_name_the_line(string text, string line, string message)
    {
        var r = DotEnv.Parse(text);
        Assert.Empty(r.Entries);
        Assert.Contains(r.Errors, e => e.StartsWith(line + ":") && e.Contains(message));
    }

    [Fact]
    public void Size_limits()
    {
        Assert.Contains("longer than 64 KiB", DotEnv.Parse("A=" + new string('x', 70_000)).Errors.Single());
        Assert.Contains("at most 500", DotEnv.Parse(string.Join('\n', Enumerable.Range(0, 501).Select(i => $"K{i}=v"))).Errors.Single());
        Assert.Contains("longer than 256", DotEnv.Parse(new string('K', 300) + "=v").Errors.Single());
    }

    [Fact]
    public void Written_text_parses_back_to_the_same_values()
    {
        var vars = new[] { ("PLAIN", "abc-123"), ("EMPTY", ""), ("SPACES", "a b  c"), ("QUOTES", "say \"hi\" 'there'"),
            ("MULTI", "line1\nline2\n"), ("BACKSLASH", "C:\\path\\"), ("HASH", "a #b"), ("DOLLAR", "$HOME ${X}"), ("UNICODE", "żółw ✓") };
        var r = DotEnv.Parse(DotEnv.Write(vars));
        Assert.Empty(r.Errors);
        Assert.Equal(vars, r.Entries.Select(e => (e.Key, e.Value)).ToArray());
    }
}
