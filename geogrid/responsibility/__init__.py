"""Departments (职能部门) and the responsibility list: which department answers for a case.

Modules: ``departments`` (the departments), ``rules`` (category × area → department, the most
specific area winning), ``files`` (loading both from CSV/XLSX, all or nothing).
"""

from geogrid.responsibility.departments import (
    KINDS,
    Department,
    check_department,
    get_department,
    list_departments,
    open_case_counts,
    save_department,
    save_departments,
    set_active,
)
from geogrid.responsibility.files import (
    load_departments,
    load_responsibility,
    read_departments,
    read_responsibility,
    read_table,
    refuse_rows,
    table_field,
)
from geogrid.responsibility.rules import (
    AREA_LEVEL,
    Candidate,
    Responsibility,
    check_row,
    choose_department,
    delete_row,
    list_responsibility,
    most_specific,
    replace_responsibility,
    responsible_department,
    save_row,
)

__all__ = [
    "AREA_LEVEL",
    "KINDS",
    "Candidate",
    "Department",
    "Responsibility",
    "check_department",
    "check_row",
    "choose_department",
    "delete_row",
    "get_department",
    "list_departments",
    "list_responsibility",
    "load_departments",
    "load_responsibility",
    "most_specific",
    "open_case_counts",
    "read_departments",
    "read_responsibility",
    "read_table",
    "refuse_rows",
    "replace_responsibility",
    "responsible_department",
    "save_department",
    "save_departments",
    "save_row",
    "set_active",
    "table_field",
]
