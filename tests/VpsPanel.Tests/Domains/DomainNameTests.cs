using VpsPanel.Features.Domains;

namespace VpsPanel.Tests.Domains;

public sealed class DomainNameTests
{
    [Theory]
    [InlineData("example.com", "example.com")]
    [InlineData("  App.Example.COM  ", "app.example.com")]
    [InlineData("example.com.", "example.com")]
    [InlineData("*.example.com", "*.example.com")]
    [InlineData("xn--bcher-kva.de", "xn--bcher-kva.de")]
    [InlineData("bücher.de", "xn--bcher-kva.de")]
    // A Cyrillic "а" in place of the Latin "a": stored and shown as punycode, so the look-alike is visible.
    [InlineData("exаmple.com", "xn--exmple-4nf.com")]
    [InlineData("a-b.c-d.example", "a-b.c-d.example")]
    [InlineData("localhost.test", "localhost.test")]
    public void Valid_domains_are_canonicalised(string input, string expected)
    {
        var r = DomainName.Normalize(input);
        Assert.Null(r.Error);
        Assert.Equal(expected, r.Domain);
    }

    [Theory]
    [InlineData("a.com {", "not allowed")]
    [InlineData("a.com\n reverse_proxy evil:80", "line break")]
    [InlineData("a.com}", "not allowed")]
    [InlineData("*.", "needs a domain after the wildcard")]
    [InlineData("a..com", "empty label")]
    [InlineData("exa mple.com", "space")]
    [InlineData("http://a.com", "without http://")]
    [InlineData("a.com/path", "without http://")]
    [InlineData("a.*.com", "wildcard can only be")]
    [InlineData("*a.com", "wildcard can only be")]
    [InlineData("-a.com", "hyphen")]
    [InlineData("a-.com", "hyphen")]
    [InlineData("com", "two labels")]
    [InlineData("", "Enter a domain")]
    [InlineData("a.com:8080", "without a port")]
    [InlineData("10.0.0.1", "IP address")]
    [InlineData("[::1]", "IP address")]
    [InlineData("a.123", "all digits")]
    [InlineData("a_b.com", "not allowed")]
    [InlineData("a.com;rm", "not allowed")]
    public void Invalid_domains_get_a_message_saying_what_is_wrong(string input, string message)
    {
        var r = DomainName.Normalize(input);
        Assert.Null(r.Domain);
        Assert.Contains(message, r.Error);
        Assert.DoesNotContain('\n', r.Error!);
    }

    [Fact]
    public void Length_limits_are_enforced()
    {
        var longName = string.Join('.', Enumerable.Repeat(new string('a', 60), 5)) + ".com";
        Assert.Contains("longer than 253", DomainName.Normalize(longName).Error);
        Assert.Contains("longer than 63", DomainName.Normalize(new string('a', 64) + ".com").Error);
        Assert.Contains("longer than", DomainName.Normalize(new string('a', 300)).Error);
        Assert.True(DomainName.Normalize(new string('a', 63) + ".com").Ok);
    }

    [Fact]
    public void IP_literals_are_allowed_only_for_HTTP_only_sites()
    {
        Assert.Equal("10.0.0.1", DomainName.Normalize("10.0.0.1", allowIpLiteral: true).Domain);
        Assert.Equal("[::1]", DomainName.Normalize("[::1]", allowIpLiteral: true).Domain);
        Assert.False(DomainName.Normalize("10.0.0.1 {", allowIpLiteral: true).Ok);
    }

    [Theory]
    [InlineData("example.com", "www.example.com")]
    [InlineData("www.example.com", "example.com")]
    [InlineData("shop.example.com", "www.shop.example.com")]
    [InlineData("www.com", null)]
    [InlineData("*.example.com", null)]
    [InlineData("10.0.0.1", null)]
    [InlineData("[::1]", null)]
    public void The_www_counterpart_of_a_domain(string domain, string? counterpart) =>
        Assert.Equal(counterpart, DomainName.WwwCounterpart(domain));

    [Theory]
    [InlineData("a.example.com", "a.example.com", true)]
    [InlineData("*.example.com", "a.example.com", true)]
    [InlineData("*.example.com", "a.b.example.com", false)]
    [InlineData("*.example.com", "example.com", false)]
    [InlineData("*.example.com", "aexample.com", false)]
    [InlineData("a.example.com", "b.example.com", false)]
    public void A_wildcard_site_matches_one_label(string site, string host, bool matches) =>
        Assert.Equal(matches, DomainName.Matches(site, host));
}
