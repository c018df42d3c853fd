"""The Word documents: what each template is given, and the filling of the templates.

A presenter (`preservation`, `memo`, `touhy`, `packet`, `contact_sheet`) turns a stored case into a
template's context: plain strings and lists. User text is passed as values, never as template source;
docxtpl escapes it for XML, and characters XML cannot hold are replaced (`text.clean`), so nothing typed
can break a document. Every time is printed in the department's time zone as the desk prints it, and every
value in words (referrals/domain/words.py), never as an enum value. `render` fills a template from
templates/documents/ with that context; `templates` wrote the starting templates, `slim` trims one after
an edit in Word. The activity that stores the documents is referrals/activities/documents.py.
"""
