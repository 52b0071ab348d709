using System.Formats.Tar;
using VpsPanel.Features.Docker;
using VpsPanel.Tests.Harness;

namespace VpsPanel.Tests.Docker;

/// <summary>
/// The .dockerignore matcher on its own (Docker's rules: moby's ignorefile reader and patternmatcher), and the tar walk
/// that applies it to a real directory. The image-level comparison with the real docker CLI is in
/// Deployments/DockerIgnoreContextTests.
/// </summary>
public sealed class DockerIgnoreTests
{
    [Theory]
    // Plain names and the path cleaning Docker does (leading /, ./, trailing /, doubled slashes, . and ..).
    [InlineData("secret.txt", "secret.txt", true)]
    [InlineData("secret.txt", "sub/secret.txt", false)]
    [InlineData("docs", "docs/a/b.txt", true)]
    [InlineData("docs/", "docs/x", true)]
    [InlineData("/docs", "docs/x", true)]
    [InlineData("./docs", "docs/x", true)]
    [InlineData("docs//a/./b", "docs/a/b", true)]
    [InlineData("a/../b", "b", true)]
    [InlineData("  spaced.txt  ", "spaced.txt", true)]
    [InlineData("docs", "docsx", false)]
    // * and ? never cross a /; a pattern matching a parent directory matches all inside it.
    [InlineData("*.md", "README.md", true)]
    [InlineData("*.md", "docs/README.md", false)]
    [InlineData("*/*.md", "docs/README.md", true)]
    [InlineData("*", "anything/inside", true)]
    [InlineData("?.txt", "a.txt", true)]
    [InlineData("?.txt", "ab.txt", false)]
    [InlineData("a?b", "a/b", false)]
    // Character classes and escapes (Go's filepath.Match).
    [InlineData("[a-c].txt", "b.txt", true)]
    [InlineData("[a-c].txt", "d.txt", false)]
    [InlineData("[^a-c].txt", "d.txt", true)]
    [InlineData("[^a-c].txt", "a.txt", false)]
    [InlineData("[xyz]", "y", true)]
    [InlineData("[\\]]", "]", true)]
    [InlineData("\\*.txt", "*.txt", true)]
    [InlineData("\\*.txt", "a.txt", false)]
    [InlineData("a\\[b", "a[b", true)]
    [InlineData("file.(1)+{x}$", "file.(1)+{x}$", true)]
    [InlineData("file.txt", "fileXtxt", false)]
    // ** for any number of directories, also none.
    [InlineData("**", "anything/at/all", true)]
    [InlineData("**/*.md", "README.md", true)]
    [InlineData("**/*.md", "docs/a/README.md", true)]
    [InlineData("**/node_modules", "node_modules", true)]
    [InlineData("**/node_modules", "a/b/node_modules/x.js", true)]
    [InlineData("**.log", "b.log", true)]
    [InlineData("**.log", "a/b.log", true)]
    [InlineData("a/**/b", "a/b", true)]
    [InlineData("a/**/b", "a/x/y/b", true)]
    [InlineData("a/**/b", "ab", false)]
    [InlineData("foo/**", "foo/x/y", true)]
    [InlineData("foo/**", "foo", false)]
    [InlineData("foo**", "foobar/x", true)]
    // Comments only in the first column; blank lines; a BOM; CRLF line ends.
    [InlineData("# comment", "# comment", false)]
    [InlineData(" #x", "#x", true)]
    [InlineData("\n\n   \nkeep-out", "keep-out", true)]
    [InlineData("\uFEFF*.tmp", "a.tmp", true)]
    [InlineData("a.txt\r\nb.txt\r\n", "b.txt", true)]
    // ! exceptions, last match wins.
    [InlineData("*.md\n!README.md", "README.md", false)]
    [InlineData("*.md\n!README.md", "CHANGES.md", true)]
    [InlineData("*.md\n!README.md\nREADME*", "README.md", true)]
    [InlineData("docs\n!docs/keep.md", "docs/keep.md", false)]
    [InlineData("docs\n!docs/keep.md", "docs/other.md", true)]
    [InlineData("**/*.log\n!**/keep", "logs/keep/b.log", false)]
    [InlineData("**/*.log\n!**/keep", "logs/b.log", true)]
    [InlineData("! x", "x", false)]
    [InlineData("!x", "x", false)]
    public void Matches_as_Docker_does(string patterns, string path, bool excluded) =>
        Assert.Equal(excluded, DockerIgnore.Parse(patterns).IsExcluded(path));

    [Theory]
    [InlineData("ok\n[abc", 2, "a [ without its closing ]")]
    [InlineData("abc\\", 1, "escapes nothing")]
    [InlineData("x\n\n!", 3, "a lone \"!\"")]
    [InlineData("[]", 1, "unescaped ']'")]
    [InlineData("[z-a]", 1, "backwards")]
    [InlineData("[-a]", 1, "unescaped '-'")]
    [InlineData("a[b-", 1, "a [ without its closing ]")]
    public void A_bad_pattern_names_its_line(string patterns, int line, string reason)
    {
        var e = Assert.Throws<IgnorePatternException>(() => DockerIgnore.Parse(patterns));
        Assert.Equal(line, e.Line);
        Assert.Contains($"line {line}:", e.Message);
        Assert.Contains(reason, e.Message);
    }

    [Theory]
    [InlineData("docs\n!docs/keep.md", "docs", true)]
    [InlineData("docs\n!docs/keep.md", "node_modules", false)]
    [InlineData("docs\n!**/*.md", "docs", true)]
    [InlineData("node_modules", "node_modules", false)]
    [InlineData("a\n!a/b/c", "a/b", true)]
    [InlineData("a\n!a/b/c", "a/x", false)]
    public void An_excluded_directory_is_walked_only_when_an_exception_could_reach_inside(string patterns, string dir, bool walk) =>
        Assert.Equal(walk, DockerIgnore.Parse(patterns).CouldReinclude(dir));

    [Theory]
    [InlineData("./a//b/", "a/b")]
    [InlineData("/a/../../b", "/b")]
    [InlineData("../x", "../x")]
    [InlineData("a/./b/..", "a")]
    [InlineData("", ".")]
    public void Paths_are_cleaned_like_Go_filepath_Clean(string path, string clean) => Assert.Equal(clean, DockerIgnore.CleanPath(path));

    static async Task<List<string>> TarNamesAsync(string context, string? dockerfile = "Dockerfile")
    {
        using var ms = new MemoryStream();
        await BuildContext.WriteTarAsync(context, context, null, ms, CancellationToken.None, dockerfile);
        ms.Position = 0;
        var names = new List<string>();
        using var reader = new TarReader(ms);
        while (reader.GetNextEntry() is { } e) names.Add(e.EntryType == TarEntryType.Directory ? e.Name.TrimEnd('/') + "/" : e.Name);
        return names;
    }

    static void Write(string root, string path, string text = "x")
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(root, path))!);
        File.WriteAllText(Path.Combine(root, path), text);
    }

    [Fact]
    public async Task The_tar_keeps_dot_files_applies_the_rules_and_writes_a_re_included_files_directories_first()
    {
        var dir = Paths.NewTempDir("vpspanel-ignore-");
        try
        {
            foreach (var f in new[] { "Dockerfile", ".env.example", ".npmrc", ".env", ".nginx/nginx.conf", "docs/keep.md", "docs/other.md",
                         "docs/sub/deep.md", "node_modules/pkg/index.js", "logs/a.log", "logs/keep/b.log", "top.log", "src/app.js", "src/app.test.js" })
                Write(dir, f);
            Directory.CreateDirectory(Path.Combine(dir, "empty"));
            Write(dir, ".dockerignore", "# what the image does not need\n.env\nDockerfile\n.dockerignore\nnode_modules\ndocs\n!docs/keep.md\n**/*.log\n!**/keep\n**/*.test.js\n");
            var names = await TarNamesAsync(dir);
            Assert.Equal(
                [".dockerignore", ".env.example", ".nginx/", ".nginx/nginx.conf", ".npmrc", "Dockerfile", "docs/", "docs/keep.md", "empty/",
                 "logs/", "logs/keep/", "logs/keep/b.log", "src/", "src/app.js"],
                names.Order(StringComparer.Ordinal));
            // The excluded docs/ comes just before the one file an exception keeps in it.
            Assert.Equal(names.IndexOf("docs/") + 1, names.IndexOf("docs/keep.md"));

            // The Dockerfile's own ignore file wins over .dockerignore; the Dockerfile and that file are kept.
            Write(dir, "Dockerfile.dockerignore", "**/*.md\nDockerfile*\n");
            var own = await TarNamesAsync(dir);
            Assert.Contains("node_modules/pkg/index.js", own);
            Assert.Contains("Dockerfile", own);
            Assert.Contains("Dockerfile.dockerignore", own);
            Assert.DoesNotContain("docs/keep.md", own);
            Assert.Contains("docs/", own);
            Assert.Contains(".env", own);
        }
        finally { Paths.DeleteQuietly(dir); }
    }

    [Fact]
    public async Task A_huge_bad_or_outside_ignore_file_fails_before_anything_is_sent_with_its_name()
    {
        var dir = Paths.NewTempDir("vpspanel-ignore-");
        var outside = Paths.NewTempDir("vpspanel-ignore-out-");
        try
        {
            Write(dir, "Dockerfile", "FROM scratch\n");
            await using (var f = File.Create(Path.Combine(dir, ".dockerignore")))
            {
                var line = "node_modules/some/long/path/to/ignore\n"u8.ToArray();
                for (var written = 0; written < 10 * 1024 * 1024; written += line.Length) f.Write(line);
            }
            var e = Assert.Throws<BuildContextException>(() => BuildContext.LoadIgnore(dir, "Dockerfile", dir));
            Assert.Contains("\".dockerignore\"", e.Message);
            Assert.Contains("at most 1048576 bytes (1 MB)", e.Message);
            await Assert.ThrowsAsync<BuildContextException>(() => TarNamesAsync(dir));

            Write(dir, ".dockerignore", "node_modules\n\n  # not a comment: a pattern\nsrc/[abc\n");
            e = Assert.Throws<BuildContextException>(() => BuildContext.LoadIgnore(dir, "Dockerfile", dir));
            Assert.Equal("the ignore file \".dockerignore\", line 4: \"src/[abc\" is not a valid pattern (a [ without its closing ])", e.Message);

            File.Delete(Path.Combine(dir, ".dockerignore"));
            Write(outside, "ignore", "*\n");
            File.CreateSymbolicLink(Path.Combine(dir, ".dockerignore"), Path.Combine(outside, "ignore"));
            e = Assert.Throws<BuildContextException>(() => BuildContext.LoadIgnore(dir, "Dockerfile", dir));
            Assert.Contains("\".dockerignore\" leads outside the repository", e.Message);
        }
        finally
        {
            Paths.DeleteQuietly(dir);
            Paths.DeleteQuietly(outside);
        }
    }
}
