"""Getting the kernel out of an LLM answer (autocomp.search.extract)."""

from __future__ import annotations

import pytest

from autocomp.search.extract import ExtractionError, extract_kernel, extract_plan, fenced_blocks

K = "import numpy as np\n\nTILE = 4\n\n\ndef kern(x):\n    return np.add(x, TILE)\n"


def test_single_fenced_block():
    assert extract_kernel(f"Sure.\n```python\n{K}```\nIt is faster.", "kern") == K


def test_several_blocks_pick_the_one_defining_the_entry_function():
    text = f"Change this line:\n```python\nTILE = 8\n```\nFull file:\n```python\n{K}```\n```bash\npytest\n```"
    assert extract_kernel(text, "kern") == K


def test_several_full_versions_take_the_last():
    v2 = K.replace("TILE = 4", "TILE = 8")
    assert extract_kernel(f"```python\n{K}```\nBetter:\n```python\n{v2}```", "kern") == v2


def test_untagged_and_tilde_fences():
    assert extract_kernel(f"```\n{K}```", "kern") == K
    assert extract_kernel(f"~~~py\n{K}~~~", "kern") == K


def test_missing_fences_with_prose_around():
    text = f"Here is the improved kernel.\n\n{K}\nThis halves the DMA count."
    assert extract_kernel(text, "kern") == K


def test_unclosed_final_fence_that_is_complete_is_accepted():
    assert extract_kernel(f"```python\n{K}", "kern") == K


def test_truncated_output_is_a_clear_failure():
    with pytest.raises(ExtractionError, match="cut off") as info:
        extract_kernel(f"```python\n{K[:-20]}", "kern", finish_reason="length")
    assert info.value.truncated
    # Without a finish reason, an unclosed block that does not parse is a truncation too.
    with pytest.raises(ExtractionError, match="cut off"):
        extract_kernel(f"```python\n{K[:-5]}", "kern")


def test_truncated_even_if_an_earlier_block_is_fine_when_hitting_the_limit():
    # A complete snippet before the cut does not define the entry point: still a truncation.
    with pytest.raises(ExtractionError, match="cut off"):
        extract_kernel(f"```python\nTILE = 8\n```\n```python\n{K[:40]}", "kern", finish_reason="length")


def test_wrong_function_name_and_syntax_errors_are_named():
    with pytest.raises(ExtractionError, match="`kern`"):
        extract_kernel("```python\ndef other(x):\n    return x\n```", "kern")
    with pytest.raises(ExtractionError, match="not valid Python"):
        extract_kernel("```python\ndef kern(x):\n    return (x\n```\n", "kern")
    with pytest.raises(ExtractionError, match="no code"):
        extract_kernel("I cannot help with that.", "kern")
    with pytest.raises(ExtractionError, match="empty"):
        extract_kernel("   ", "kern")


def test_entry_function_nested_in_a_class_is_not_accepted():
    with pytest.raises(ExtractionError, match="top level"):
        extract_kernel("```python\nclass A:\n    def kern(self):\n        pass\n```", "kern")


def test_dropped_imports_are_restored_from_the_parent():
    body = "```python\nTILE = 4\n\n\ndef kern(x):\n    return np.add(x, TILE)\n```"
    out = extract_kernel(body, "kern", reference=K)
    assert out.startswith("import numpy as np\n") and "def kern" in out


def test_fenced_blocks_report_closed_state():
    blocks = fenced_blocks("```python\na = 1\n```\ntext\n```\nb = 2\n")
    assert blocks == [("python", "a = 1\n", True), ("", "b = 2\n", False)]


def test_plan_text_drops_code_and_is_bounded():
    assert extract_plan("Use bigger tiles.\n```python\nx = 1\n```\nDone.") == "Use bigger tiles.\n\nDone."
    assert len(extract_plan("word " * 5000)) < 4100
