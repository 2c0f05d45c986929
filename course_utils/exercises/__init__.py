"""The notebooks' exercise graders, one module per notebook (``nb01`` ... ``nb07``).

Each ``check_exercise_N(answer)`` returns a :class:`course_utils.grading.Verdict` that prints as one
line: ✅ when the answer is right, ❌ with a hint naming the typical mistake otherwise. The expected
answers are computed here, never written in the notebooks; ``tests/test_exercises_nbNN.py`` checks
that each grader accepts the reference answer and rejects the typical mistakes with the right hint.
"""
