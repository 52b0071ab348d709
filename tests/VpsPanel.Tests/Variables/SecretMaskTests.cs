using VpsPanel.Features.Variables;

namespace VpsPanel.Tests.Variables;

public sealed class SecretMaskTests
{
    [Fact]
    public void Every_occurrence_is_masked_longest_first_and_short_values_are_not_touched()
    {
        var mask = new SecretMask(["hunter22", "hunter22-extended", "ab", "line-one\nline-two"]);
        Assert.Equal("pw=******** and ******** again", mask.Apply("pw=hunter22 and hunter22 again"));
        Assert.Equal("token ********!", mask.Apply("token hunter22-extended!"));
        Assert.Equal("ab stays: ab", mask.Apply("ab stays: ab"));
        Assert.Equal("key:\n********", mask.Apply("key:\nline-one\nline-two"));
        Assert.Equal("half: ********", mask.Apply("half: line-two"));
        Assert.Equal("nothing secret", SecretMask.None.Apply("nothing secret"));
    }
}
