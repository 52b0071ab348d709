using VpsPanel.Features.Variables;

namespace VpsPanel.Tests.Variables;

/// <summary>The rules every way in (page form, pasted .env, API) goes through, table-tested.</summary>
public sealed class VariableValidationTests
{
    static readonly List<Variable> Stored = [new("TOKEN", "s3cret-value", true, false, true), new("PLAIN", "visible", false, true, true)];

    public static TheoryData<string, string?, bool, bool, bool, string> Refused => new()
    {
        { "1BAD", "x", false, false, true, "line 1: \"1BAD\" is not a valid key" },
        { "BAD-KEY", "x", false, false, true, "line 1: \"BAD-KEY\" is not a valid key" },
        { "", "x", false, false, true, "line 1: the key is empty" },
        { new string('K', 257), "x", false, false, true, "line 1: the key is longer than 256 characters" },
        { "SHORT", "abc", true, false, true, "line 1: the secret SHORT is shorter than 4 characters" },
        { "NOWHERE", "x", false, false, false, "line 1: NOWHERE must be available at build time, at run time, or both" },
        { "BIG", new string('x', 64 * 1024 + 1), false, false, true, "line 1: the value of BIG is longer than 64 KiB" },
        { "NUL", "a\0b", false, false, true, "line 1: the value of NUL contains a NUL character" },
        { "MASKED", "********", true, false, true, "line 1: ******** stands for a hidden secret, but MASKED has no stored secret value" },
        { "PLAIN", "********", false, false, true, "line 1: ******** stands for a hidden secret, but PLAIN has no stored secret value" },
        { "TOKEN", "********", false, false, true, "line 1: to make TOKEN not secret, enter its value again" },
        { "TOKEN", "pre********post", true, false, true, "line 1: the value of TOKEN contains ********" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public void Refuses_with_the_line(string key, string? value, bool secret, bool build, bool run, string error)
    {
        var (set, errors) = VariableStore.Validate([new VariableInput(key, value, secret, build, run, "line 1")], Stored);
        Assert.Empty(set);
        Assert.StartsWith(error, Assert.Single(errors));
    }

    [Fact]
    public void Duplicate_keys_name_both_places()
    {
        var (_, errors) = VariableStore.Validate(
            [new VariableInput("A", "1", false, false, true, "line 2"), new VariableInput("A", "2", false, false, true, "line 5")], []);
        Assert.Equal(["line 5: A is already set on line 2"], errors);
    }

    [Fact]
    public void A_masked_or_missing_secret_keeps_the_stored_value()
    {
        var (set, errors) = VariableStore.Validate(
            [new VariableInput("TOKEN", "********", true, true, true, "line 1"), new VariableInput("PLAIN", "new", false, true, false, "line 2")], Stored);
        Assert.Empty(errors);
        Assert.Equal([new Variable("TOKEN", "s3cret-value", true, true, true), new Variable("PLAIN", "new", false, true, false)], set);
        (set, errors) = VariableStore.Validate([new VariableInput("TOKEN", null, true, false, true, "item 0")], Stored);
        Assert.Empty(errors);
        Assert.Equal("s3cret-value", Assert.Single(set).Value);
    }

    [Fact]
    public void Total_size_and_count_are_bounded()
    {
        var big = Enumerable.Range(0, 3).Select(i => new VariableInput($"V{i}", new string('x', 60 * 1024), false, false, true, $"line {i + 1}")).ToList();
        Assert.Contains("all variables together may be at most 128 KiB", VariableStore.Validate(big, []).Errors);
        var many = Enumerable.Range(0, 501).Select(i => new VariableInput($"V{i}", "x", false, false, true, $"line {i + 1}")).ToList();
        Assert.Contains("at most 500 variables, found 501", VariableStore.Validate(many, []).Errors);
    }

    [Fact]
    public void Pasted_env_keeps_flags_of_existing_keys_and_applies_defaults_to_new_ones()
    {
        var (set, errors) = VariableEdits.FromEnvText(Stored, "TOKEN=********\n# comment\nexport NEW='x y z w'\n", secret: true, buildTime: true, runtime: false);
        Assert.Empty(errors);
        Assert.Equal([new Variable("TOKEN", "s3cret-value", true, false, true), new Variable("NEW", "x y z w", true, true, false)], set);
        var (none, bad) = VariableEdits.FromEnvText(Stored, "A=1\nB=2\n3C=3\nA=4", false, false, true);
        Assert.Empty(none);
        Assert.Equal(["line 3: \"3C\" is not a valid key: use letters, digits and _, not starting with a digit", "line 4: A is already set on line 1"], bad);
    }

    [Fact]
    public void The_env_text_the_page_shows_masks_secrets_and_the_owner_export_does_not()
    {
        Assert.Equal("TOKEN=\"********\"\nPLAIN=visible\n", VariableEdits.ToEnvText(Stored, reveal: false));
        Assert.Equal("TOKEN=s3cret-value\nPLAIN=visible\n", VariableEdits.ToEnvText(Stored, reveal: true));
        // What the page shows reads back to the same set.
        Assert.Empty(VariableEdits.FromEnvText(Stored, VariableEdits.ToEnvText(Stored, reveal: false), false, false, true).Errors);
    }
}
