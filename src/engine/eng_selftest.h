/*
** eng_selftest.h: `etwlua --selftest` (eng_selftest.c): the checklist of
** spec windows-etw §7 against the linked backend. Prints one line per check
** and "N passed, N failed"; returns the number of failed checks.
*/
#ifndef ENG_SELFTEST_H
#define ENG_SELFTEST_H

int etwlua_selftest(void);

#endif
